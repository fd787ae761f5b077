package policies

import (
	"context"
	"strings"

	"gorm.io/gorm"
)

// Registered returns which of ids are in the registry, in tx: one indexed
// read of the id column per thousand ids, for imports of other data about
// registered people (medical settlement records) that only need to know
// who is known. LoadBeneficiaries reads the whole records.
func Registered(ctx context.Context, tx *gorm.DB, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	for lo := 0; lo < len(ids); lo += 1000 {
		var found []string
		if err := tx.WithContext(ctx).Model(&beneficiaryRecord{}).Where("id_number IN ?", ids[lo:min(lo+1000, len(ids))]).
			Pluck("id_number", &found).Error; err != nil {
			return nil, err
		}
		for _, id := range found {
			out[id] = true
		}
	}
	return out, nil
}

// Members returns the id numbers of the people of a cap household
// (Beneficiary.CapHousehold): everyone with that household_id, or the one
// person of a "self:" household.
func Members(ctx context.Context, tx *gorm.DB, household string) ([]string, error) {
	if id, ok := strings.CutPrefix(household, "self:"); ok {
		return []string{id}, nil
	}
	var ids []string
	err := tx.WithContext(ctx).Model(&beneficiaryRecord{}).Where("household_id = ?", household).Order("id_number").Pluck("id_number", &ids).Error
	return ids, err
}
