package policies_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/policies"
	"huimin/server/servertest"
)

// placeView is the part of a registry record the place tests read.
type placeView struct {
	Name          string  `json:"name"`
	PayoutAccount *string `json:"payout_account"`
	Township      *string `json:"township"`
	Village       *string `json:"village"`
	BankName      *string `json:"bank_name"`
}

func placeGet(t *testing.T, h *servertest.Harness, role, id string) placeView {
	t.Helper()
	r := h.Get(t, role, regPath(id))
	servertest.RequireStatus(t, r, http.StatusOK)
	var v placeView
	r.JSON(t, &v)
	return v
}

// The place fields of DESIGN §4 go in with PUT, come back in the full view,
// are cleared by a PUT without them, and never reach an insurer.
func TestBeneficiaryPlaces(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		body := regBody()
		body["township"], body["village"], body["bank_name"] = "赤眉镇", "桃园村", "中国农业银行内乡县支行"
		r := h.Put(t, "admin", regPath(regZhang), body)
		servertest.RequireStatus(t, r, http.StatusCreated)
		want := placeView{Name: "张三", PayoutAccount: ptrTo("6222021234567890123"),
			Township: ptrTo("赤眉镇"), Village: ptrTo("桃园村"), BankName: ptrTo("中国农业银行内乡县支行")}
		var put placeView
		r.JSON(t, &put)
		require.Equal(t, want, put)
		for _, role := range []string{"admin", "finance", "auditor"} {
			require.Equal(t, want, placeGet(t, h, role, regZhang), role)
		}

		r = h.Get(t, "insurer", regPath(regZhang))
		servertest.RequireStatus(t, r, http.StatusOK)
		require.ElementsMatch(t, []string{"id_number", "county_code", "county_name", "categories", "residency"}, keysOf(r.Map(t)))
		for _, s := range []string{"赤眉镇", "桃园村", "支行"} {
			require.NotContains(t, string(r.Body), s, "an insurer never sees where a person lives or banks")
		}

		entries, err := policies.LoadRegistryEntries(context.Background(), d.DB, []string{regZhang, regLi})
		require.NoError(t, err)
		require.Equal(t, map[string]policies.RegistryEntry{regZhang: {
			IDNumber: regZhang, IDType: "resident_id", Name: "张三", CountyCode: "411325", HouseholdID: "NX-0001",
			PayoutAccount: "6222021234567890123", Township: "赤眉镇", Village: "桃园村", BankName: "中国农业银行内乡县支行",
		}}, entries, "the unknown id is absent")

		// A PUT replaces the record whole: omitted (or null) places are cleared.
		body = regBody()
		body["village"] = nil
		servertest.RequireStatus(t, h.Put(t, "admin", regPath(regZhang), body), http.StatusOK)
		got := placeGet(t, h, "admin", regZhang)
		require.Nil(t, got.Township)
		require.Nil(t, got.Village)
		require.Nil(t, got.BankName)

		for _, tc := range []struct {
			name, field string
			value       any
		}{
			{"a township over 64 characters", "township", strings.Repeat("镇", 65)},
			{"a village with a line break", "village", "桃园\n村"},
			{"a bank name of spaces", "bank_name", "   "},
			{"a village with a leading space", "village", " 桃园村"},
			{"a bank name over 128 characters", "bank_name", strings.Repeat("行", 129)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				body := regBody()
				body[tc.field] = tc.value
				e := servertest.RequireError(t, h.Do(t, servertest.Request{Method: http.MethodPut, Path: regPath(regZhang),
					Token: "admin", Body: body, NoCheck: true}), http.StatusUnprocessableEntity, "validation_failed")
				require.Equal(t, []string{tc.field}, e.FieldNames())
			})
		}
		require.Nil(t, placeGet(t, h, "admin", regZhang).Village, "refused PUTs stored nothing")
	})
}

// A registry import takes the three place columns after the ten of DESIGN
// §4, or goes without them exactly as before.
func TestBeneficiaryImportPlaceColumns(t *testing.T) {
	withPlaces := policies.RegistryCSVHeader + "," + policies.RegistryCSVPlaceColumns + "\r\n" +
		regZhang + ",resident_id,张三,411325,NX-0001,6222021234567890123,category,illness_poverty,2026-01-01,,赤眉镇,桃园村,中国农业银行内乡县支行\r\n" +
		regZhang + ",resident_id,张三,411325,NX-0001,6222021234567890123,residency,hukou,2010-03-01,,赤眉镇,桃园村,中国农业银行内乡县支行\r\n" +
		regLi + `,resident_id,"欧阳·丽娟",411326,XC-0420,,residency,hukou,2018-05-01,,,,` + "\r\n" +
		regWang + ",resident_id,王五,411328,,,category,marginal_at_risk,2026-01-01,,城郊乡,,\r\n" +
		regWang + ",resident_id,王五,411328,,,residency,hukou,2026-01-01,,城关镇,,\r\n" + // line 6: another township
		regZhao + ",resident_id,赵六,411381,,,category,illness_poverty,2026-01-01,,\r\n" + // line 7: 11 columns
		regCoop + ",uscc,合作社,411381,,,category,agri_operator,2026-01-01,,\" 穰东镇\",," + "\r\n" // line 8: trimmed like any cell
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(withPlaces))
	require.NoError(t, err)

	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		t.Run("with the place columns, in GBK", func(t *testing.T) {
			a := regImport(t, h, gbk, "text/csv")
			type at struct {
				Line  int
				Field string
			}
			var got []at
			for _, e := range a.Errors {
				got = append(got, at{e.Line, e.Field})
			}
			require.Equal(t, []at{{6, "township"}, {7, "row"}}, got, "body: %+v", a.Errors)
			require.Contains(t, a.Errors[1].Message, policies.RegistryCSVPlaceColumns, "the row error names the header it expected")
			require.Equal(t, 4, a.Created, "张三, 欧阳·丽娟, 王五 (his good row) and the cooperative")

			zhang := placeGet(t, h, "admin", regZhang)
			require.Equal(t, ptrTo("赤眉镇"), zhang.Township)
			require.Equal(t, ptrTo("桃园村"), zhang.Village)
			require.Equal(t, ptrTo("中国农业银行内乡县支行"), zhang.BankName)
			li := placeGet(t, h, "admin", regLi)
			require.Nil(t, li.Township, "empty place cells are absent")
			require.Nil(t, li.BankName)
			require.Equal(t, ptrTo("城郊乡"), placeGet(t, h, "admin", regWang).Township)
			require.Equal(t, ptrTo("穰东镇"), placeGet(t, h, "admin", regCoop).Township)
		})

		t.Run("without them, the header of DESIGN §4 as before", func(t *testing.T) {
			a := regImport(t, h, []byte(regText), "text/csv; charset=utf-8")
			require.Empty(t, a.Errors)
			require.Equal(t, 3, a.Updated, "张三, 欧阳·丽娟 and the cooperative")
			require.Nil(t, placeGet(t, h, "admin", regZhang).Township, "an import without the columns replaces the record, places cleared")
			require.Equal(t, "欧阳·丽娟", placeGet(t, h, "admin", regLi).Name)
		})

		t.Run("a header with only some of the place columns is refused", func(t *testing.T) {
			for _, header := range []string{
				policies.RegistryCSVHeader + ",township",
				policies.RegistryCSVHeader + ",township,village",
				policies.RegistryCSVHeader + ",village,township,bank_name",
			} {
				a := regImport(t, h, []byte(header+"\r\n"), "text/csv")
				require.Len(t, a.Errors, 1, header)
				require.Equal(t, 1, a.Errors[0].Line)
				require.Equal(t, "header", a.Errors[0].Field)
				require.Contains(t, a.Errors[0].Message, "optionally followed by ,"+policies.RegistryCSVPlaceColumns)
			}
		})

		t.Run("place cells follow the text rules", func(t *testing.T) {
			body := policies.RegistryCSVHeader + "," + policies.RegistryCSVPlaceColumns + "\r\n" +
				regZhao + ",resident_id,赵六,411381,,,category,illness_poverty,2026-01-01,," + strings.Repeat("镇", 65) + ",,\r\n" +
				regZhao + ",resident_id,赵六,411381,,,residency,hukou,2026-01-01,,,\"桃园\x01村\",\r\n"
			a := regImport(t, h, []byte(body), "text/csv")
			require.Len(t, a.Errors, 2)
			require.Equal(t, "township", a.Errors[0].Field)
			require.Equal(t, "village", a.Errors[1].Field)
			require.Zero(t, a.Created)
		})
	})
}
