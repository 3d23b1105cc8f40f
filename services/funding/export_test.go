package funding

import (
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// SubprojectIndex is the index entries the service keeps for a subproject,
// for a test that writes one as another replica would.
func SubprojectIndex(ref repo.Ref, sp *fundingv1.Subproject) []store.IndexEntry {
	return subprojectIndex(&subRecord{Ref: ref, Msg: sp})
}
