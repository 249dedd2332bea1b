-- gapan.lua: a Wireshark post-dissector that shows, on each frame of a
-- capture annotated by `gapan annotate`, the frames the capture lost just
-- before it and the fate of the data its flow misses: lost by the capture
-- (inside a recorded gap, or not explained by any), lost before the
-- capture point (upstream), after it (downstream), ambiguous or unknown.
--
-- Install: copy this file into Wireshark's personal Lua plugins folder
-- (Help > About Wireshark > Folders > Personal Lua Plugins):
--   Linux, macOS: ~/.local/lib/wireshark/plugins/
--   Windows:      %APPDATA%\Wireshark\plugins\
-- or run `tshark -X lua_script:gapan.lua ...`. See docs/wireshark.md.
--
-- It reads what gapan annotate writes into the pcapng: the drop count of
-- each frame with frames lost before it (frame.drop_count, so files
-- annotated with --fates=false, or written by any recorder that sets
-- epb_dropcount, work too) and the machine-readable packet comment, which
-- starts with "gapan/1", on each frame that tells a fate. Tested with
-- Wireshark 4.0 (Lua 5.2).

local gapan = Proto("gapan", "gapan capture loss")

local fates = {
	capture = "lost by the capture, inside a recorded gap",
	capture_unexplained = "lost by the capture, not explained by any recorded gap",
	upstream = "lost before the capture point",
	downstream = "lost after the capture point",
	ambiguous = "lost by the capture or before it",
	unknown = "never retransmitted nor acknowledged",
	spurious = "spurious: the receiver had the data",
	mirror = "lost between the switch and the capture host (mirror loss)",
}

local f = {
	lost_before = ProtoField.uint64("gapan.lost_before", "Frames lost just before this frame", base.DEC, nil, nil,
		"Frames lost on this frame's interface since its previous frame there (the recorded gap)"),
	gap = ProtoField.string("gapan.gap", "Gap", base.NONE, "The recorded gap before this frame: its size and position"),
	gap_prev = ProtoField.framenum("gapan.gap_prev", "Previous frame on the interface", base.NONE, frametype.NONE),
	flow_id = ProtoField.uint64("gapan.flow_id", "Flow id", base.DEC, nil, nil,
		"The flow's id in gapan's JSON, CSV and Parquet outputs"),
	fate = ProtoField.string("gapan.fate", "Fate", base.NONE,
		"What became of data the flow misses: capture, capture_unexplained, upstream, downstream, ambiguous, unknown"),
	fate_bytes = ProtoField.uint64("gapan.fate_bytes", "Bytes", base.DEC),
	fate_segments = ProtoField.uint64("gapan.fate_segments", "Segments", base.DEC),
	fate_packets = ProtoField.uint64("gapan.fate_packets", "Packets", base.DEC, nil, nil,
		"RTP packets, or the packets of the sequence family gapan.fate_evidence names"),
	fate_evidence = ProtoField.string("gapan.fate_evidence", "Evidence", base.NONE,
		"The sequence family whose missing numbers revealed the loss: esp, gtpu, icmp, mp2t"),
	fate_acked = ProtoField.bool("gapan.fate_acked", "Acknowledged by this frame, never seen by the capture"),
	fate_gap = ProtoField.framenum("gapan.fate_gap", "Explained by the recorded gap before frame", base.NONE, frametype.NONE),
	fate_gap_lost = ProtoField.uint64("gapan.fate_gap_lost", "Frames lost in that gap", base.DEC),
	fate_ref = ProtoField.framenum("gapan.fate_ref", "Related frame", base.NONE, frametype.NONE, nil,
		"The retransmission (upstream, ambiguous), or the acknowledgement that showed the receiver had the data (capture)"),
	retransmission = ProtoField.string("gapan.retransmission", "Retransmission", base.NONE,
		"What this retransmission repairs: upstream, ambiguous, downstream, or spurious"),
	retransmission_of = ProtoField.framenum("gapan.retransmission_of", "Data missing before frame", base.NONE, frametype.NONE),
	retransmission_bytes = ProtoField.uint64("gapan.retransmission_bytes", "Bytes", base.DEC),
}
gapan.fields = f

local e = {
	gap = ProtoExpert.new("gapan.gap.expert", "Frames lost by the capture just before this frame",
		expert.group.SEQUENCE, expert.severity.WARN),
	capture = ProtoExpert.new("gapan.fate.capture", "Data lost by the capture",
		expert.group.SEQUENCE, expert.severity.WARN),
	upstream = ProtoExpert.new("gapan.fate.upstream", "Data lost before the capture point",
		expert.group.SEQUENCE, expert.severity.NOTE),
	other = ProtoExpert.new("gapan.fate.other", "Data lost after the capture point, ambiguous or unknown",
		expert.group.SEQUENCE, expert.severity.NOTE),
	retransmission = ProtoExpert.new("gapan.retransmission.expert", "Retransmission",
		expert.group.SEQUENCE, expert.severity.CHAT),
}
gapan.experts = { e.gap, e.capture, e.upstream, e.other, e.retransmission }

local comment_field = Field.new("frame.comment")
local drop_field = Field.new("frame.drop_count")
local iface_field = Field.new("frame.interface_id")

-- The previous frame on each frame's interface, learnt in the first,
-- in-order pass over the file (epb_dropcount counts the frames lost on
-- the frame's interface since that frame): last_on holds the latest
-- frame per interface, prev_of the previous one of each frame with a gap.
local last_on, prev_of = {}, {}

function gapan.init()
	last_on, prev_of = {}, {}
end

-- parse returns the frame's fields and its fate groups from the comment
-- "gapan/1 k=v ... | fate=... k=v ... | retransmission=... k=v".
local function parse(s)
	local head, groups = nil, {}
	for part in s:gmatch("[^|]+") do
		local kv = {}
		for k, v in part:gmatch("([%w_]+)=(%S+)") do
			kv[k] = v
		end
		if head == nil then head = kv else groups[#groups + 1] = kv end
	end
	return head or {}, groups
end

-- u64 makes a 64-bit field's value from its decimal digits, exactly:
-- Wireshark 4.0 takes only a UInt64, and a Lua number is exact only up
-- to 2^53.
local function u64(s)
	local v = UInt64.new(0)
	for d in tostring(s or "0"):gmatch("%d") do
		v = v * 10 + tonumber(d)
	end
	return v
end

local function plural(n, word)
	if tonumber(n) == 1 then return n .. " " .. word end
	return n .. " " .. word .. "s"
end

-- evidenceNames name a packet of each kind of evidence=.
local evidenceNames = { rtp = "RTP", esp = "ESP", gtpu = "GTP-U", icmp = "ICMP echo", mp2t = "MPEG-TS" }

local function amount(g)
	if g.packets then return plural(g.packets, (evidenceNames[g.evidence or "rtp"] or g.evidence) .. " packet") end
	return plural(g.segs or "0", "segment") .. " (" .. plural(g.bytes or "0", "byte") .. ")"
end

local function add_gap(R, tree, lost, prev, number)
	local text = plural(lost, "frame") .. " lost"
	if prev and prev > 0 then
		text = text .. " between frame " .. prev .. " and frame " .. number
	else
		text = text .. " before frame " .. number
	end
	local t = tree:add(f.lost_before, R, u64(lost))
	t:add(f.gap, R, text)
	if prev and prev > 0 then t:add(f.gap_prev, R, prev) end
	t:add_proto_expert_info(e.gap, "gapan: " .. text)
end

-- describe says in words what the fate group g says.
local function describe(g)
	local word, d = g.fate, fates[g.fate] or g.fate
	if word == "capture" and g.gap then
		d = "lost by the capture, inside the recorded gap of " .. plural(g.gap_lost, "frame") .. " before frame " .. g.gap
	elseif (word == "upstream" or word == "ambiguous") and g.ref then
		d = d .. ", retransmitted at frame " .. g.ref
	end
	if g.acked then
		return amount(g) .. " acknowledged by this frame, never seen by the capture: " .. d
	end
	if word == "downstream" then
		return amount(g) .. " seen by the capture and sent again: " .. d
	end
	return amount(g) .. " " .. d
end

local function add_fate(R, tree, g)
	local word = g.fate
	local text = describe(g)
	local t = tree:add(f.fate, R, word)
	t:append_text(" (" .. text .. ")")
	if g.packets then
		t:add(f.fate_packets, R, u64(g.packets))
		if g.evidence then t:add(f.fate_evidence, R, g.evidence) end
	else
		t:add(f.fate_bytes, R, u64(g.bytes))
		t:add(f.fate_segments, R, u64(g.segs))
	end
	if g.acked then t:add(f.fate_acked, R, true) end
	if g.gap then
		t:add(f.fate_gap, R, tonumber(g.gap))
		t:add(f.fate_gap_lost, R, u64(g.gap_lost))
	end
	if g.ref then t:add(f.fate_ref, R, tonumber(g.ref)) end
	if word == "downstream" then
		-- The frame is the retransmission that shows the loss.
		t:add(f.retransmission, R, "downstream")
	end
	text = "gapan: " .. text
	if word == "capture" or word == "capture_unexplained" then
		t:add_proto_expert_info(e.capture, text)
	elseif word == "upstream" then
		t:add_proto_expert_info(e.upstream, text)
	else
		t:add_proto_expert_info(e.other, text)
	end
end

local function add_retransmission(R, tree, g)
	local word = g.retransmission
	local text
	if word == "spurious" then
		text = "spurious: " .. plural(g.bytes or "0", "byte") .. " the receiver had acknowledged"
	else
		text = "repairs " .. plural(g.bytes or "0", "byte") .. " " .. (fates[word] or word)
		if g.ref then text = text .. " (missing before frame " .. g.ref .. ")" end
	end
	local t = tree:add(f.retransmission, R, word)
	t:append_text(" (" .. text .. ")")
	t:add(f.retransmission_bytes, R, u64(g.bytes))
	if g.ref then t:add(f.retransmission_of, R, tonumber(g.ref)) end
	t:add_proto_expert_info(e.retransmission, "gapan: retransmission " .. text)
end

function gapan.dissector(tvb, pinfo, tree)
	local d = drop_field()
	local lost = d and d.value and tostring(d.value) or "0"
	if not pinfo.visited then
		local i = iface_field()
		local key = i and tostring(i.value) or "0"
		if lost ~= "0" then prev_of[pinfo.number] = last_on[key] or 0 end
		last_on[key] = pinfo.number
	end
	local record
	for _, c in ipairs({ comment_field() }) do
		local v = c.value
		if v and v:sub(1, 8) == "gapan/1 " then record = v end
	end
	if lost == "0" and not record then return end
	local head, groups = {}, {}
	if record then head, groups = parse(record:sub(8)) end
	-- Values go with an empty range of the frame (a generated field).
	local R = tvb(0, 0)
	local t = tree:add(gapan, R)
	if lost ~= "0" then add_gap(R, t, lost, prev_of[pinfo.number], pinfo.number) end
	if head.flow then t:add(f.flow_id, R, u64(head.flow)) end
	for _, g in ipairs(groups) do
		if g.fate then
			add_fate(R, t, g)
		elseif g.retransmission then
			add_retransmission(R, t, g)
		end
	end
end

register_postdissector(gapan)
