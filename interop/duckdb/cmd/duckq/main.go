// Command duckq runs SQL with the DuckDB of the interop module and prints
// the result as a table: it produced the outputs shown in docs/notebook.md.
//
//	go run ./cmd/duckq "SELECT count(*) FROM 'ds/frames/*.parquet'"
package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: duckq SQL...")
		os.Exit(2)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		fatal(err)
	}
	defer db.Close()
	for _, q := range os.Args[1:] {
		if err := run(db, q); err != nil {
			fatal(err)
		}
	}
}

func run(db *sql.DB, q string) error {
	rows, err := db.Query(q)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t")
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		cells := make([]string, len(cols))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				cells[i] = "NULL"
			case float64:
				cells[i] = fmt.Sprintf("%.4g", v)
			default:
				cells[i] = fmt.Sprint(v)
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
	fmt.Println()
	return rows.Err()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "duckq:", err)
	os.Exit(1)
}
