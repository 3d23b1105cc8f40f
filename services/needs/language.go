package needs

import (
	"context"
	"strings"

	"golang.org/x/text/language"
	"google.golang.org/grpc/metadata"

	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// A need's statement is rendered in the language of the request, from its
// three parts, each time a need is answered: the parts are the person's own
// words, the template is ours. The request's language is its
// Accept-Language: the gateway passes the HTTP header on as
// grpcgateway-accept-language, a gRPC client may send accept-language
// metadata. Swedish when neither asks for English.

// requestLanguage is "sv" or "en" for the call in ctx.
func requestLanguage(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	var header string
	for _, key := range []string{"accept-language", "grpcgateway-accept-language"} {
		if v := md.Get(key); len(v) > 0 {
			header = strings.Join(v, ",")
			break
		}
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return "sv"
	}
	// The statement's languages, Swedish first (the default).
	languages := language.NewMatcher([]language.Tag{language.Swedish, language.English})
	if _, i, conf := languages.Match(tags...); conf != language.No && i == 1 {
		return "en"
	}
	return "sv"
}

// statementIn renders need n's Biodesign statement in lang. Trailing
// punctuation of each part is dropped so the parts read as one sentence.
func statementIn(lang string, n *needsv1.Need) string {
	p, q, o := clause(n.GetProblem()), clause(n.GetPopulation()), clause(n.GetOutcome())
	if lang == "en" {
		return "A way to " + p + " in " + q + " in order to " + o
	}
	return "Ett sätt att " + p + " hos " + q + " för att " + o
}

// speak sets the statement of an answered need in the request's language.
// n is the handler's own copy of the record, so it is changed in place.
func speak(ctx context.Context, n *needsv1.Need) *needsv1.Need {
	if n != nil && n.GetProblem() != "" {
		n.Statement = statementIn(requestLanguage(ctx), n)
	}
	return n
}
