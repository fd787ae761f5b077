package ledger

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"huimin/internal/money"
)

// An amount passes through a float64 only on its way into an XLSX cell,
// which stores doubles; the text the file then holds must be the amount's
// exact decimal for every amount the API accepts, up to 999999999999.99.
func TestSheetAmountsAreExact(t *testing.T) {
	fens := []int64{0, 1, 10, 99, 100, 12345, 10000001, 99999999999999, 99999999999998, 12345678901234, 100000000000000 - 1}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		fens = append(fens, r.Int64N(100000000000000))
	}
	sh, err := NewSheet("Sheet1", []SheetColumn{{Header: "amount", Width: 20}})
	require.NoError(t, err)
	defer sh.Close()
	for _, fen := range fens {
		exact := decimal.New(fen, -2)
		// The text excelize writes for a float (shortest round trip, within
		// Excel's 15 digits) is the exact decimal.
		require.Equal(t, exact.String(), strconv.FormatFloat(sheetNumber(fen), 'f', -1, 64), "fen %d", fen)
		require.NoError(t, sh.Row(SheetAmount(fen)))
	}
	var buf bytes.Buffer
	_, err = sh.WriteTo(&buf)
	require.NoError(t, err)

	x, err := excelize.OpenReader(&buf)
	require.NoError(t, err)
	defer x.Close()
	rows, err := x.GetRows("Sheet1", excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	require.Len(t, rows, 1+len(fens))
	for i, fen := range fens {
		require.Equal(t, decimal.New(fen, -2).String(), rows[i+1][0], "the file holds fen %d exactly", fen)
	}
	formatted, err := x.GetCellValue("Sheet1", "A2")
	require.NoError(t, err)
	require.Equal(t, money.String(money.FromFen(fens[0])), formatted, "shown with two decimals")
}

// A cell of a type the sheet does not know is an error, not a guess.
func TestSheetRefusesUnknownCells(t *testing.T) {
	sh, err := NewSheet("清册", []SheetColumn{{Header: "x"}})
	require.NoError(t, err)
	defer sh.Close()
	require.Error(t, sh.Row(1.5))
	require.NoError(t, sh.Row("text", int64(2), 3, SheetAmount(4), nil))
}
