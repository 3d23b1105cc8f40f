package notify

import (
	"fmt"
	"strings"

	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
)

// text is one event type's wording; %s is the title.
type text struct{ sv, en string }

func texts() map[string]text {
	return map[string]text{
		TypeIdeaStage:       {"Din idé ”%s” har nu status: %s", "Your idea “%s” now has the status: %s"},
		TypeIdeaSpread:      {"Din idé ”%s” har spridits till region %s", "Your idea “%s” has spread to region %s"},
		TypeIdeaCreated:     {"Ny idé: ”%s”", "New idea: “%s”"},
		TypeNeedCreated:     {"Nytt behov: ”%s”", "New need: “%s”"},
		TypeOfferCreated:    {"Nytt erbjudande: ”%s”", "New offer: “%s”"},
		TypeOfferDueSoon:    {"Erbjudandet ”%s” ska besvaras senast %s", "The offer “%s” must be answered by %s"},
		TypeOfferOverdue:    {"Erbjudandet ”%s” skulle ha besvarats senast %s", "The offer “%s” was due for an answer on %s"},
		TypeOfferRouted:     {"Ert erbjudande ”%s” har skickats vidare till ett behov", "Your offer “%s” has been routed to a need"},
		TypeOfferDialogue:   {"Ert erbjudande ”%s” är nu i dialog", "Your offer “%s” is now in dialogue"},
		TypeOfferClosed:     {"Ert erbjudande ”%s” är avslutat", "Your offer “%s” is closed"},
		TypeReportReturned:  {"Kostnadsrapporten %s har skickats tillbaka", "The cost report %s was returned"},
		TypeReportCertified: {"Kostnadsrapporten %s är attesterad", "The cost report %s is certified"},
		TypeReportWaiting:   {"Kostnadsrapporten %s har väntat på attest i mer än %s arbetsdagar", "The cost report %s has waited for certification for more than %s working days"},
		TypeSubApproved:     {"Delprojektet ”%s” är beviljat", "The subproject “%s” is approved"},
		TypeSubRejected:     {"Delprojektet ”%s” har fått avslag", "The subproject “%s” was rejected"},
		TypeSubSubmitted:    {"Delprojektet ”%s” väntar på beslut", "The subproject “%s” awaits a decision"},
	}
}

// stageNames are the stages as people read them.
var stageNames = map[string]text{
	"STAGE_SUBMITTED": {"inskickad", "submitted"}, "STAGE_SCREENING": {"bedömning", "screening"},
	"STAGE_SELECTED": {"utvald", "selected"}, "STAGE_DEVELOPMENT": {"utveckling", "development"},
	"STAGE_TESTING": {"test", "testing"}, "STAGE_IMPLEMENTED": {"införd", "implemented"},
	"STAGE_COMMERCIALISED": {"kommersialiserad", "commercialised"}, "STAGE_SPREAD": {"spridd", "spread"},
	"STAGE_PARKED": {"parkerad", "parked"}, "STAGE_REJECTED": {"avslag", "rejected"},
	"STAGE_WITHDRAWN": {"återtagen", "withdrawn"},
}

// second is what a type's text says after the title.
func second(typ string, d map[string]string, en bool) string {
	switch typ {
	case TypeIdeaStage:
		if n, ok := stageNames[d["stage"]]; ok {
			if en {
				return n.en
			}
			return n.sv
		}
		return d["stage"]
	case TypeIdeaSpread:
		return d["spreadTo"]
	case TypeOfferDueSoon, TypeOfferOverdue:
		return d["respondBy"]
	case TypeReportWaiting:
		return d["waitingDays"]
	}
	return ""
}

func render(format, title, rest string) string {
	if strings.Count(format, "%s") == 2 {
		return fmt.Sprintf(format, title, rest)
	}
	return fmt.Sprintf(format, title)
}

// summaries are a notification's one-line texts in Swedish and English.
func summaries(typ string, d map[string]string) (sv, en string) {
	t := texts()[typ]
	title := d["title"]
	return render(t.sv, title, second(typ, d, false)), render(t.en, title, second(typ, d, true))
}

// mailWords are a mail's fixed words in one language.
type mailWords struct{ rationale, more, footer string }

var mailLanguages = map[string]mailWords{
	"sv": {"Motivering", "Läs mer", "Du får det här brevet från Motor, regionens innovationsmotor. Du kan stänga av e-post i dina aviseringsinställningar."},
	"en": {"Rationale", "Read more", "You receive this mail from Motor, the region's innovation engine. You can turn e-mail off in your notification settings."},
}

// mailText is a notification as a mail in lang ("sv" or "en"): the summary,
// the rationale when there is one (only notifications to the submitter
// carry it), where to read more and how to stop the mails.
func mailText(n *notifyv1.Notification, lang, portal string) (subject, body string) {
	summary, w := n.GetSummarySv(), mailLanguages["sv"]
	if lang == "en" {
		summary, w = n.GetSummaryEn(), mailLanguages["en"]
	}
	var b strings.Builder
	b.WriteString(summary + ".\n\n")
	if r := n.GetDetails()["rationale"]; r != "" {
		b.WriteString(w.rationale + ":\n" + r + "\n\n")
	}
	if portal != "" {
		b.WriteString(w.more + ": " + strings.TrimRight(portal, "/") + "/" + n.GetSubject() + "\n\n")
	}
	b.WriteString(w.footer + "\n\nEvent: " + n.GetEventId() + "\n")
	return "Motor: " + summary, b.String()
}
