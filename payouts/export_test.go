package payouts

import (
	"context"

	"huimin/claims"
	"huimin/internal/audit"
)

// ApproveTogether commits these approvals as one group, in this order,
// exactly as the group committer does with approvals that queued together.
// Tests use it to pin a group's arrival order, which concurrent requests
// cannot.
func (s *Service) ApproveTogether(ctx context.Context, whos []audit.Who, ids []string) ([]claims.View, []error, error) {
	group := make([]approveReq, len(ids))
	for i := range ids {
		group[i] = approveReq{who: whos[i], id: ids[i]}
	}
	results, err := s.approveGroup(ctx, group)
	if err != nil {
		return nil, nil, err
	}
	views, errs := make([]claims.View, len(results)), make([]error, len(results))
	for i, r := range results {
		views[i], errs[i] = r.Value, r.Err
	}
	return views, errs, nil
}
