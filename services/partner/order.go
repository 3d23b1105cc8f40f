package partner

import (
	"context"
	"strings"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// listOrder is the index an order of a list scans and in which direction.
type listOrder struct {
	index   string
	reverse bool
}

// The orders of each list (AIP-132), in the order of its plans; the first
// is the default. Every index serves its order both ways round (a reversed
// scan). The orders added to a list have one index each, not one per
// filter: their filters are checked on each record.
var (
	// Partners: by display name (the directory's own order, with an index
	// per kind and capability), by create and by update time.
	partnerOrders = resource.Orders{
		"display_name", "display_name desc",
		"create_time desc", "create_time",
		"update_time desc", "update_time",
	}
	partnerOrderPlans = []listOrder{
		{"partners", false}, {"partners", true},
		{"partners_created", false}, {"partners_created", true},
		{"partners_updated", false}, {"partners_updated", true},
	}
	// Offers: by create time (every offer index), and by update time for
	// the callers who list the region (one region-wide index); a company
	// user lists its own offers by create time.
	offerOrders = resource.Orders{
		"create_time desc", "create_time",
		"update_time desc", "update_time",
	}
	ownOfferOrders   = offerOrders[:2]
	offerOrderPlans  = []listOrder{{"offers", false}, {"offers", true}, {"offers_updated", false}, {"offers_updated", true}}
	agreementOrders  = offerOrders
	agreementIndexes = []listOrder{{"agreements", false}, {"agreements", true}, {"agreements_updated", false}, {"agreements_updated", true}}
)

// revisionOrders: an agreement's earlier revisions, highest first (the
// index's order) or lowest first.
var revisionOrders = resource.Orders{"revision desc", "revision"}

// unindexed drops the indexes of fields: the filter of an order whose index
// has no per-field sets is checked on each record.
func unindexed[T any](fields []filter.Field[T]) []filter.Field[T] {
	for i := range fields {
		fields[i].Index = nil
	}
	return fields
}

// partnerOrderEntries place a partner by create and update time, newest
// first.
func partnerOrderEntries(p *partnerv1.Partner) []store.IndexEntry {
	return []store.IndexEntry{
		{Index: "partners_created", Term: newestFirst(p.GetCreateTime().AsTime())},
		{Index: "partners_updated", Term: newestFirst(p.GetUpdateTime().AsTime())},
	}
}

// ordersIndexed puts the records of region that earlier code stored
// without the entries of the orders added since on their indexes, once per
// region and process, before a list in one of those orders relies on them.
func (s *Server) ordersIndexed(ctx context.Context, region string) error {
	return s.orderUpgrades.Once(ctx, region, func(ctx context.Context) error {
		partner := func(key string) string {
			return partnerName{Region: region, ID: strings.TrimPrefix(key, "partner/")}.String()
		}
		for _, index := range []string{"partners_created", "partners_updated"} {
			if _, err := s.partners.Reindex(ctx, region, "partners", index, partner); err != nil {
				return err
			}
		}
		if _, err := s.offers.Reindex(ctx, region, "offers", "offers_updated", func(key string) string {
			return offerName{Region: region, ID: strings.TrimPrefix(key, "offer/")}.String()
		}); err != nil {
			return err
		}
		_, err := s.agreements.Reindex(ctx, region, "agreements", "agreements_updated", func(key string) string {
			pid, id, _ := strings.Cut(strings.TrimPrefix(key, "agreement/"), "/")
			return agreementName{Partner: partnerName{Region: region, ID: pid}, ID: id}.String()
		})
		return err
	})
}
