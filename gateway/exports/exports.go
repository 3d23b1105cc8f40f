// Package exports serves a region's collections as files — CSV (RFC 4180,
// UTF-8), a semicolon-separated CSV with a byte order mark that Swedish
// Excel opens as it is, and XLSX — from the gateway process
// (docs/architecture.md, "Reports and exports"). It pages through the
// services' own List calls with the caller's token, so an export holds
// exactly the rows and fields the caller may see through the API, and it
// writes rows out as pages arrive, so memory stays flat however long the
// export. Every export is recorded in the region's audit log first.
package exports

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// Pattern is the route the gateway serves exports on.
const Pattern = "GET /v1/regions/{region}/exports/{file}"

// pageSize is the largest page the services give.
const pageSize = 1000

const domain errs.Domain = "gateway.motor"

// formats are the files an export is written as.
var formats = []string{"csv", "excel.csv", "xlsx"}

// services name the service each collection is listed from.
var services = map[string]string{
	"ideas": "idea", "needs": "needs", "subprojects": "funding", "costReports": "funding",
	"partners": "partner", "offers": "partner",
}

// Handler serves exports. conns are the services' connections by name
// (idea, needs, funding, partner, reports), as the gateway has them; a
// collection whose service has none answers 404.
func Handler(conns map[string]*grpc.ClientConn, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &handler{conns: conns, logger: logger}
}

type handler struct {
	conns  map[string]*grpc.ClientConn
	logger *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	region, file := r.PathValue("region"), r.PathValue("file")
	collection, format, _ := strings.Cut(file, ".")
	ctx := r.Context()
	if a := r.Header.Get("Authorization"); a != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
	}
	var v errs.Violations
	if _, ok := services[collection]; !ok {
		v.Add("collection", "%q is not exported: use one of %s", collection, strings.Join(slices.Sorted(maps.Keys(services)), ", "))
	}
	if !slices.Contains(formats, format) {
		v.Add("format", "%q is not a format: use one of %s (as in ideas.csv)", format, strings.Join(formats, ", "))
	}
	if err := v.Err(domain); err != nil {
		writeError(w, err)
		return
	}
	reports := h.conns["reports"]
	if reports == nil {
		writeError(w, status.Error(codes.NotFound, "exports are not served here: this gateway fronts no reports service"))
		return
	}
	src, err := h.source(collection, "regions/"+region)
	if err != nil {
		writeError(w, err)
		return
	}
	// Once the first page shows the caller may read the collection, the
	// export is recorded before a row leaves: an export that cannot be
	// traced is not made.
	src.record = func(ctx context.Context) error {
		_, err := reportsv1.NewReportServiceClient(reports).RecordExport(ctx, &reportsv1.RecordExportRequest{
			Parent: "regions/" + region, Collection: collection, Format: format,
		})
		return err
	}
	out := &export{w: w, name: region + "-" + collection, format: format}
	if err := out.write(ctx, src); err != nil {
		if out.started {
			// The status line is gone: cut the connection so the client
			// sees a broken download, never a file that looks complete.
			h.logger.WarnContext(ctx, "export broken off", "region", region, "collection", collection, "error", err)
			panic(http.ErrAbortHandler)
		}
		writeError(w, err)
	}
}

// source is one collection: its columns and its pages.
type source struct {
	cols []column
	// extra are cells after the resource's own, such as a partner's
	// agreements.
	extra     []string
	extraRows func(ctx context.Context, m proto.Message) ([]string, error)
	next      pager
	// record writes the export's audit record.
	record func(ctx context.Context) error
}

// pager returns the items of the page at token and the next page's token
// ("" at the end).
type pager func(ctx context.Context, token string) ([]proto.Message, string, error)

func (s *source) header() []string { return append(header(s.cols), s.extra...) }

// export writes one export in its format.
type export struct {
	w       http.ResponseWriter
	name    string
	format  string
	started bool // the status line and some bytes are out
}

// write fetches the first page before the status line, so a refusal is an
// HTTP error and not an empty file.
func (e *export) write(ctx context.Context, src *source) error {
	items, token, err := src.next(ctx, "")
	if err != nil {
		return err
	}
	if err := src.record(ctx); err != nil {
		return err
	}
	rows := func(yield func([]string) error) error {
		for {
			for _, m := range items {
				cells := row(src.cols, m)
				if src.extraRows != nil {
					more, err := src.extraRows(ctx, m)
					if err != nil {
						return err
					}
					cells = append(cells, more...)
				}
				if err := yield(cells); err != nil {
					return err
				}
			}
			if token == "" {
				return nil
			}
			if items, token, err = src.next(ctx, token); err != nil {
				return err
			}
		}
	}
	switch e.format {
	case "xlsx":
		return e.xlsx(src.header(), rows)
	case "excel.csv":
		return e.csv(src.header(), rows, ';', true)
	default:
		return e.csv(src.header(), rows, ',', false)
	}
}

func (e *export) start(contentType, ext string) {
	e.w.Header().Set("Content-Type", contentType)
	e.w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", e.name+ext))
	e.w.Header().Set("Cache-Control", "no-store")
	e.w.WriteHeader(http.StatusOK)
	e.started = true
}

// csv writes RFC 4180 CSV (CRLF line ends, quoted as needed), flushed a
// page at a time. The Excel variant is semicolon-separated with a byte
// order mark, and cells that Excel would take for a formula are prefixed
// with an apostrophe, since anyone may write an idea's title.
func (e *export) csv(head []string, rows func(func([]string) error) error, sep rune, excel bool) error {
	ctype := "text/csv; charset=utf-8; header=present"
	e.start(ctype, map[bool]string{false: ".csv", true: ".excel.csv"}[excel])
	if excel {
		if _, err := io.WriteString(e.w, "\uFEFF"); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(e.w)
	cw.Comma, cw.UseCRLF = sep, true
	flusher, _ := e.w.(http.Flusher)
	n := 0
	put := func(cells []string) error {
		if excel {
			for i, c := range cells {
				cells[i] = defuse(c)
			}
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
		if n++; n%pageSize == 0 {
			cw.Flush()
			if flusher != nil {
				flusher.Flush()
			}
		}
		return cw.Error()
	}
	if err := put(head); err != nil {
		return err
	}
	if err := rows(put); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// defuse keeps Excel from evaluating a cell as a formula.
func defuse(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}

// xlsx writes one sheet through excelize's stream writer, which keeps rows
// in a temporary file rather than in memory; the file is sent when the last
// page has been read, so a failure on any page is still an HTTP error.
func (e *export) xlsx(head []string, rows func(func([]string) error) error) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return fmt.Errorf("excelize.NewStreamWriter: %w", err)
	}
	n := 0
	put := func(cells []string) error {
		n++
		vals := make([]any, len(cells))
		for i, c := range cells {
			vals[i] = c
		}
		cell, err := excelize.CoordinatesToCellName(1, n)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, vals)
	}
	if err := put(head); err != nil {
		return err
	}
	if err := rows(put); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("excelize.StreamWriter.Flush: %w", err)
	}
	e.start("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
	if err := f.Write(e.w); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	return nil
}

// writeError answers a gRPC error as the gateway does: google.rpc.Status
// JSON with the status mapped to HTTP.
func writeError(w http.ResponseWriter, err error) {
	st := status.Convert(err)
	b, merr := protojson.Marshal(st.Proto())
	if merr != nil {
		http.Error(w, st.Message(), runtime.HTTPStatusFromCode(st.Code()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(runtime.HTTPStatusFromCode(st.Code()))
	_, _ = w.Write(b)
}

// messageOf is the descriptor of a resource type.
func messageOf(m proto.Message) protoreflect.MessageDescriptor { return m.ProtoReflect().Descriptor() }
