package claims

import (
	"gorm.io/gorm/clause"

	"huimin/internal/money"
	"huimin/internal/web"
)

var lockingUpdate = clause.Locking{Strength: "UPDATE"}

func moneyString(fen int64) string { return money.String(money.FromFen(fen)) }

func timestamp(ms int64) string { return web.Timestamp(ms) }
