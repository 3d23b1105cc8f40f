package portal

// personMessages are the labels of the page of a person's own data,
// Swedish first.
var personMessages = map[string][2]string{
	"nav.mydata":           {"Mina uppgifter", "My data"},
	"mydata.title":         {"Mina uppgifter", "My data"},
	"mydata.intro":         {"Det här är allt Motor sparar om dig i regionen: idéer och behov du har lämnat, beslut och bedömningar du har gjort, dina aviseringar och loggposter som nämner dig.", "This is everything Motor keeps about you in the region: ideas and needs you submitted, decisions and assessments you made, your notifications and the log entries naming you."},
	"mydata.download":      {"Ladda ner allt som JSON", "Download everything as JSON"},
	"mydata.summary":       {"Sammanfattning", "Summary"},
	"mydata.kind":          {"Slag", "Kind"},
	"mydata.count":         {"Antal", "Number"},
	"mydata.ideas":         {"Idéer du har lämnat", "Ideas you submitted"},
	"mydata.decisions":     {"Beslut du har tagit", "Decisions you took"},
	"mydata.assessments":   {"Bedömningar du har gjort", "Assessments you made"},
	"mydata.needs":         {"Behov du har rapporterat", "Needs you reported"},
	"mydata.screenings":    {"Screeningar du har gjort", "Screenings you made"},
	"mydata.offers":        {"Erbjudanden du har registrerat", "Offers you registered"},
	"mydata.notifications": {"Aviseringar till dig", "Notifications to you"},
	"mydata.audit":         {"Loggposter som nämner dig", "Log entries naming you"},
	"mydata.contact":       {"Dina kontaktuppgifter på idéerna", "Your contact details on the ideas"},
	"mydata.erase":         {"Vill du att regionen raderar dina personuppgifter? Kontakta regionens administratör; idéerna och behoven finns kvar utan dina uppgifter.", "Do you want the region to erase your personal data? Contact the region's administrator; the ideas and needs stay without your data."},
}
