package notify

import (
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// TestReadRecord_BothFormats: a record is read whether it is the typed
// repository's protobuf envelope (with fields this code does not know) or
// the protojson of earlier records, bare or wrapped next to its owner.
func TestReadRecord_BothFormats(t *testing.T) {
	offer := &partnerv1.Offer{Name: "regions/uppsala/offers/o1", Partner: "regions/uppsala/partners/p1", Title: "Fallsensor", RespondBy: "2026-03-16"}
	body, err := proto.Marshal(offer)
	if err != nil {
		t.Fatal(err)
	}
	env := protowire.AppendTag(nil, 1, protowire.VarintType)
	env = protowire.AppendVarint(env, 1)
	env = protowire.AppendTag(env, envelopeMessage, protowire.BytesType)
	env = protowire.AppendBytes(env, body)
	env = protowire.AppendTag(env, envelopeOwner, protowire.BytesType)
	env = protowire.AppendString(env, "kim")
	env = protowire.AppendTag(env, 9, protowire.BytesType) // a newer envelope's field
	env = protowire.AppendString(env, "later")
	js, _ := protojson.Marshal(offer)

	for _, tc := range []struct {
		name, wrapped, owner string
		value                []byte
	}{
		{"envelope", "", "kim", env},
		{"protojson", "", "", js},
		{"wrapped protojson", "offer", "kim", []byte(`{"owner":"kim","count":3,"offer":` + string(js) + `}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := &partnerv1.Offer{}
			owner, err := readRecord(tc.value, got, tc.wrapped)
			if err != nil || owner != tc.owner || !proto.Equal(got, offer) {
				t.Errorf("readRecord: %v, owner %q, %v; want %q, %v", err, owner, got, tc.owner, offer)
			}
		})
	}
	if _, err := readRecord([]byte{0x12, 0x50, 0x01}, &partnerv1.Offer{}, ""); err == nil {
		t.Error("a truncated envelope was read without error")
	}
}
