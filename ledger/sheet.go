package ledger

import (
	"archive/zip"
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"

	"huimin/internal/money"
)

// Sheet streams one XLSX worksheet for people to read and add up (DESIGN
// §16): a bold header row that stays in view (frozen), columns as wide as
// their contents usually are, and cells typed by their Go value — a string
// is a text cell (also formatted "@", so that a clerk editing it in Excel
// does not turn a card number into 6.22202E+18), an int or int64 an integer
// number cell, a SheetAmount a number cell shown with two decimals ("0.00"),
// so that SUM over a column adds up. Rows go through excelize's StreamWriter,
// which spills to a temporary file past 16 MiB: memory does not grow with the
// number of rows. The ledger export and the payouts roster both use it.
type Sheet struct {
	file   *excelize.File
	sw     *excelize.StreamWriter
	rows   int
	styles sheetStyles
	cells  []any
}

type sheetStyles struct{ text, integer, amount, header, boldInteger, boldAmount, boldText int }

// SheetColumn is one column: its header and its width in characters (Excel's
// unit, the width of a "0"; a Chinese character takes about two).
type SheetColumn struct {
	Header string
	Width  float64
}

// SheetAmount is money in fen, written as a number cell in yuan with two
// decimals.
type SheetAmount int64

// Excel's built-in number formats (ECMA-376 §18.8.30).
const (
	numFmtInteger = 1  // 0
	numFmtAmount  = 2  // 0.00
	numFmtText    = 49 // @
)

// NewSheet starts a workbook of one worksheet named name, with columns and
// their header as row 1. Close it when done.
func NewSheet(name string, columns []SheetColumn) (*Sheet, error) {
	x := excelize.NewFile()
	s := &Sheet{file: x}
	ok := false
	defer func() {
		if !ok {
			_ = x.Close()
		}
	}()
	if name != "Sheet1" {
		if err := x.SetSheetName("Sheet1", name); err != nil {
			return nil, err
		}
	}
	var err error
	style := func(numFmt int, bold bool) int {
		if err != nil {
			return 0
		}
		var id int
		st := &excelize.Style{NumFmt: numFmt}
		if bold {
			st.Font = &excelize.Font{Bold: true}
		}
		id, err = x.NewStyle(st)
		return id
	}
	s.styles = sheetStyles{
		text: style(numFmtText, false), integer: style(numFmtInteger, false), amount: style(numFmtAmount, false),
		header: style(numFmtText, true), boldText: style(numFmtText, true),
		boldInteger: style(numFmtInteger, true), boldAmount: style(numFmtAmount, true),
	}
	if err != nil {
		return nil, err
	}
	if s.sw, err = x.NewStreamWriter(name); err != nil {
		return nil, err
	}
	for i, c := range columns {
		if c.Width > 0 {
			if err := s.sw.SetColWidth(i+1, i+1, c.Width); err != nil {
				return nil, err
			}
		}
	}
	if err := s.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	header := make([]any, len(columns))
	for i, c := range columns {
		header[i] = c.Header
	}
	if err := s.row(true, header); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// Row appends a row. Each cell is a string (text), an int or int64
// (integer), a SheetAmount (money) or nil (an empty cell).
func (s *Sheet) Row(cells ...any) error { return s.row(false, cells) }

// BoldRow appends a row in bold: a totals row.
func (s *Sheet) BoldRow(cells ...any) error { return s.row(true, cells) }

func (s *Sheet) row(bold bool, cells []any) error {
	s.rows++
	if cap(s.cells) < len(cells) {
		s.cells = make([]any, len(cells))
	}
	out := s.cells[:len(cells)]
	for i, v := range cells {
		c, ok := s.cell(bold, v)
		if !ok {
			return fmt.Errorf("ledger.Sheet: cell %d of row %d is a %T; a cell is a string, an int, an int64, a SheetAmount or nil", i+1, s.rows, v)
		}
		out[i] = c
	}
	cell, err := excelize.CoordinatesToCellName(1, s.rows)
	if err != nil {
		return err
	}
	return s.sw.SetRow(cell, out)
}

func (s *Sheet) cell(bold bool, v any) (any, bool) {
	pick := func(plain, strong int) int {
		if bold {
			return strong
		}
		return plain
	}
	switch v := v.(type) {
	case nil:
		return nil, true
	case string:
		return excelize.Cell{StyleID: pick(s.styles.text, s.styles.boldText), Value: v}, true
	case int:
		return excelize.Cell{StyleID: pick(s.styles.integer, s.styles.boldInteger), Value: v}, true
	case int64:
		return excelize.Cell{StyleID: pick(s.styles.integer, s.styles.boldInteger), Value: v}, true
	case SheetAmount:
		return excelize.Cell{StyleID: pick(s.styles.amount, s.styles.boldAmount), Value: sheetNumber(int64(v))}, true
	}
	return nil, false
}

// sheetNumber is fen as the number an XLSX cell holds. The file format
// stores every number as an IEEE double, so this is the one place money
// becomes a float64, and only on its way into a file, never into arithmetic:
// the amount's exact decimal text (at most 999999999999.99, 14 significant
// digits) is parsed to the nearest double, which excelize writes back with
// the shortest digits that name that double — the same text, since doubles
// tell 15 significant digits apart. ledger's tests read the cells' XML and
// check it.
func sheetNumber(fen int64) float64 {
	f, err := strconv.ParseFloat(money.String(money.FromFen(fen)), 64)
	if err != nil {
		panic("ledger.Sheet: an amount that is not a number: " + err.Error())
	}
	return f
}

// WriteTo finishes the sheet and writes the workbook to w as it is zipped.
// excelize's own WriteTo zips the whole workbook into a bytes.Buffer first —
// for a million-row ledger, a hundred MiB and more held at once — so the
// zip writer excelize is given here writes to w instead, and the buffer it
// hands over stays empty. (What excelize then does with that buffer only
// matters for parts over 4 GiB, far beyond any export.)
func (s *Sheet) WriteTo(w io.Writer) (int64, error) {
	if err := s.sw.Flush(); err != nil {
		return 0, err
	}
	cw := &countingWriter{w: w}
	s.file.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(cw) })
	if _, err := s.file.WriteToBuffer(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Close releases the workbook and its temporary file.
func (s *Sheet) Close() error { return s.file.Close() }
