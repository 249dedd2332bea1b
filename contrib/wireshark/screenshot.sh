#!/bin/sh
# screenshot.sh ANNOTATED.pcapng OUT.png [FRAME]
#
# Renders what Wireshark shows of an annotated capture with gapan.lua, as
# tshark 4.0 prints it, into a PNG with headless Chromium: the packet list
# of the frames the plugin marks (coloured by the profile's colouring
# rules), the gapan tree of FRAME, and Analyze > Expert Information
# (warnings and notes). docs/img/wireshark-fates.png is made with it.
set -eu
in=$1 out=$2 frame=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
lua="lua_script:$here/gapan.lua"
html=$(mktemp --suffix=.html)
trap 'rm -f "$html"' EXIT
esc() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'; }
filter='gapan.fate || gapan.retransmission || gapan.lost_before > 0'
[ -n "$frame" ] || frame=$(tshark -n -X "$lua" -r "$in" -Y 'gapan.fate == "upstream"' -T fields -e frame.number 2>/dev/null | head -1)
{
	cat <<'HEAD'
<!doctype html><meta charset="utf-8"><style>
body{font:13px "DejaVu Sans",sans-serif;margin:0;background:#fff}
h2{font-size:13px;margin:0;padding:4px 8px;background:#e8e8e8;border-bottom:1px solid #bbb}
table{border-collapse:collapse;width:100%;font:12px "DejaVu Sans Mono",monospace}
th{background:#f0f0f0;text-align:left;padding:2px 6px;border-bottom:1px solid #bbb}
td{padding:1px 6px;white-space:nowrap;overflow:hidden;max-width:520px;text-overflow:ellipsis}
pre{font:12px "DejaVu Sans Mono",monospace;margin:0;padding:4px 8px}
.c{background:#ffa500}.n{background:#96c3ff}.u{background:#d8bcff}.g{background:#fff599}
</style>
HEAD
	printf '<h2>%s — display filter: %s (colouring rules: contrib/wireshark/profile)</h2>\n' "$(basename "$in")" "$filter"
	echo '<table><tr><th>No.</th><th>Time</th><th>Source</th><th>Destination</th><th>Protocol</th><th>Lost before</th><th>gapan fate</th><th>Fate bytes</th><th>Retransmission</th><th>Info</th></tr>'
	tshark -n -X "$lua" -r "$in" -Y "$filter" -T fields -E occurrence=f \
		-e frame.number -e frame.time_relative -e ip.src -e ip.dst -e _ws.col.Protocol \
		-e gapan.lost_before -e gapan.fate -e gapan.fate_bytes -e gapan.retransmission -e _ws.col.Info 2>/dev/null |
		head -40 | esc | awk -F'\t' '{
			c = ""
			if ($7 == "capture" || $7 == "capture_unexplained") c = "c"
			else if ($7 == "upstream" || $7 == "downstream" || $9 == "upstream") c = "n"
			else if ($7 == "ambiguous" || $7 == "unknown") c = "u"
			else if ($6 != "" && $6 != "0") c = "g"
			printf "<tr class=\"%s\">", c
			for (i = 1; i <= 10; i++) printf "<td>%s</td>", (i == 2 ? substr($i, 1, 9) : $i)
			print "</tr>"
		}'
	echo '</table>'
	printf '<h2>Frame %s: the gapan tree</h2><pre>' "$frame"
	tshark -n -X "$lua" -r "$in" -Y "frame.number == $frame" -V 2>/dev/null |
		sed -n '/^gapan capture loss/,$p' | grep -v 'Severity level\|Group:' | esc
	echo '</pre><h2>Analyze › Expert Information (tshark -z expert,note): warnings and notes, gapan next to TCP</h2><pre>'
	tshark -n -X "$lua" -r "$in" -q -z expert,note 2>/dev/null | grep -E 'Frequency|=====|^(Warns|Notes)|GAPAN|TCP' | head -28 | esc
	echo '</pre>'
} >"$html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,1250 --screenshot="$out" "file://$html" 2>/dev/null
