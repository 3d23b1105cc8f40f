package portal

// messages holds every label of the portal in Swedish and English. A test
// checks that each key a template uses is here, in both languages.
var messages = map[string][2]string{
	// Layout
	"app.name":      {"Motor – innovationsmotorn", "Motor – the innovation engine"},
	"skip":          {"Hoppa till innehållet", "Skip to content"},
	"nav.main":      {"Huvudmeny", "Main menu"},
	"nav.newidea":   {"Lämna en idé", "Submit an idea"},
	"nav.myideas":   {"Mina idéer", "My ideas"},
	"nav.newneed":   {"Beskriv ett behov", "Describe a need"},
	"nav.board":     {"Idétavla", "Idea board"},
	"nav.needs":     {"Behov", "Needs"},
	"nav.offers":    {"Erbjudanden", "Offers"},
	"signout":       {"Logga ut", "Sign out"},
	"signedinas":    {"Inloggad som", "Signed in as"},
	"lang.switch":   {"In English", "På svenska"},
	"lang.label":    {"Språk", "Language"},
	"footer":        {"Motor – för regionernas innovationsarbete inom vården.", "Motor – for the regions' innovation work in healthcare."},
	"footer.access": {"Sidorna ska gå att använda med tangentbord och skärmläsare.", "These pages are meant to work with a keyboard and a screen reader."},
	"save":          {"Spara", "Save"},
	"reload":        {"Hämta den senaste versionen", "Load the latest version"},
	"back":          {"Tillbaka", "Back"},
	"required":      {"obligatoriskt", "required"},
	"optional":      {"valfritt", "optional"},
	"none":          {"Inga ännu.", "None yet."},
	"region":        {"Region", "Region"},

	// Sign-in
	"signin.title":    {"Logga in", "Sign in"},
	"signin.expired":  {"Du har varit inaktiv en stund och behöver logga in igen. Det du hade skrivit finns kvar efter inloggningen.", "Your session ran out; please sign in again. What you had typed is kept for after you sign in."},
	"signin.oidc":     {"Logga in med din organisations inloggning", "Sign in with your organisation's account"},
	"signin.dev":      {"Utvecklingsläge: inloggning utan identitetsleverantör", "Dev mode: sign-in without an identity provider"},
	"signin.devnote":  {"Den här sidan finns bara när ingen identitetsleverantör är inställd. Du väljer själv vem du är – använd den aldrig för riktiga personuppgifter.", "This page exists only when no identity provider is configured. You choose who you are – never use it for real personal data."},
	"signin.role":     {"Roll", "Role"},
	"signin.name":     {"Ditt namn", "Your name"},
	"signin.submit":   {"Logga in", "Sign in"},
	"role.submitter":  {"Patient, närstående eller medarbetare", "Patient, relative or staff member"},
	"role.advisor":    {"Innovationsrådgivare", "Innovation advisor"},
	"role.adminrole":  {"Regionadministratör", "Region admin"},
	"signin.failed":   {"Inloggningen misslyckades. Försök igen.", "Sign-in failed. Please try again."},
	"signin.badinput": {"Välj en roll och en region och skriv ditt namn.", "Choose a role and a region and type your name."},

	// Home
	"home.title":  {"Välkommen", "Welcome"},
	"home.intro":  {"Har du sett något i vården som kan bli bättre? Berätta om det – regionens innovationsrådgivare läser varje idé och ger dig ett motiverat svar.", "Have you seen something in healthcare that could be better? Tell us – the region's innovation advisors read every idea and give you a reasoned answer."},
	"home.signin": {"Logga in för att lämna en idé eller följa dina idéer.", "Sign in to submit an idea or follow your ideas."},

	// Idea form
	"idea.new.title":          {"Lämna en idé", "Submit an idea"},
	"idea.new.intro":          {"Det tar ett par minuter. Fält märkta obligatoriskt måste fyllas i.", "It takes a couple of minutes. Fields marked required must be filled in."},
	"idea.title":              {"Rubrik", "Title"},
	"idea.title.hint":         {"En kort mening om idén.", "One short sentence about the idea."},
	"idea.problem":            {"Vad har du sett?", "What did you observe?"},
	"idea.problem.hint":       {"Beskriv problemet eller situationen som du vill förbättra.", "Describe the problem or situation you want to improve."},
	"idea.proposal":           {"Ditt förslag", "Your proposal"},
	"idea.proposal.hint":      {"Hur skulle det kunna lösas?", "How could it be solved?"},
	"idea.carearea":           {"Vårdområde", "Care area"},
	"idea.carearea.hint":      {"Till exempel diabetes, akutsjukvård eller primärvård.", "For example diabetes, emergency care or primary care."},
	"idea.origin":             {"Jag är", "I am"},
	"idea.consent":            {"Samtycke", "Consent"},
	"idea.consent.store":      {"Ja, regionen får spara mitt namn och mina kontaktuppgifter tillsammans med idén.", "Yes, the region may keep my name and contact details with the idea."},
	"idea.consent.contact":    {"Ja, regionen får kontakta mig om idén.", "Yes, the region may contact me about the idea."},
	"idea.consent.note":       {"Säger du nej sparas inga personuppgifter alls, och du kan ändå följa idén här. Du kan när som helst ta bort dina uppgifter.", "If you say no, no personal data is kept at all, and you can still follow the idea here. You can erase your details at any time."},
	"idea.personal":           {"Dina uppgifter", "Your details"},
	"idea.personal.note":      {"Fyll bara i om du har sagt ja till att regionen sparar dem.", "Fill in only if you said yes to the region keeping them."},
	"idea.displayname":        {"Namn", "Name"},
	"idea.email":              {"E-post", "E-mail"},
	"idea.phone":              {"Telefon", "Phone"},
	"idea.workplace":          {"Arbetsplats", "Workplace"},
	"idea.submit":             {"Skicka idén", "Send the idea"},
	"idea.similar":            {"Liknande idéer finns redan", "Similar ideas already exist"},
	"idea.similar.note":       {"Kanske har någon redan tänkt samma sak? Du kan ändå skicka din idé.", "Perhaps someone had the same thought? You can still send your idea."},
	"idea.created":            {"Tack! Din idé är inskickad. Här kan du följa den.", "Thank you! Your idea has been sent. You can follow it here."},
	"idea.personal.noconsent": {"Du har inte sagt ja till att vi sparar dina uppgifter. Kryssa i rutan ovan eller lämna fälten tomma.", "You have not agreed to us keeping your details. Tick the box above or leave these fields empty."},

	// My ideas and the idea page
	"mine.title":         {"Mina idéer", "My ideas"},
	"mine.none":          {"Du har inte lämnat någon idé ännu.", "You have not submitted an idea yet."},
	"idea.stage":         {"Steg", "Stage"},
	"idea.answer":        {"Motivering", "Rationale"},
	"idea.history":       {"Historik", "History"},
	"idea.submitted":     {"Inskickad", "Submitted"},
	"idea.updated":       {"Senast ändrad", "Last changed"},
	"idea.withdraw":      {"Dra tillbaka idén", "Withdraw the idea"},
	"idea.withdraw.note": {"Idén stängs och rådgivarna arbetar inte vidare med den.", "The idea is closed and the advisors will not work on it any further."},
	"idea.erase":         {"Ta bort mina personuppgifter", "Erase my personal data"},
	"idea.erase.note":    {"Ditt namn och dina kontaktuppgifter tas bort överallt där de finns, även i historiken. Idén finns kvar, men du kan inte längre följa den här.", "Your name and contact details are removed everywhere they are kept, history included. The idea stays, but you can no longer follow it here."},
	"idea.erased":        {"Dina personuppgifter är borttagna.", "Your personal data has been erased."},
	"idea.withdrawn":     {"Idén är tillbakadragen.", "The idea has been withdrawn."},
	"idea.by":            {"av", "by"},
	"idea.from":          {"från", "from"},
	"idea.to":            {"till", "to"},
	"idea.details":       {"Om idén", "About the idea"},
	"idea.submitter":     {"Inlämnad av", "Submitted by"},
	"idea.linkedfrom":    {"Behov och delprojekt som bygger på idén", "Needs and subprojects that build on the idea"},
	"idea.nopersonal":    {"Inga personuppgifter sparade.", "No personal data kept."},
	"idea.score":         {"Poäng", "Score"},
	"idea.assessments":   {"bedömningar", "assessments"},
	"idea.assessment":    {"bedömning", "assessment"},

	// Advisor work on an idea
	"gate.title":           {"Flytta idén", "Move the idea"},
	"gate.rationale":       {"Motivering", "Rationale"},
	"gate.rationale.hint":  {"Krävs för att parkera eller avslå. Motiveringen visas för den som lämnade idén.", "Required to park or reject. The rationale is shown to the person who submitted the idea."},
	"gate.move":            {"Flytta till", "Move to"},
	"gate.unavailable":     {"Går inte ännu", "Not yet possible"},
	"gate.none":            {"Idén är i ett slutligt steg.", "The idea is in a final stage."},
	"gate.moved":           {"Idén är flyttad.", "The idea has been moved."},
	"gate.need.assessment": {"minst en bedömning (urvalsworkshopen har inte poängsatt idén)", "at least one assessment (the selection workshop has not scored it)"},
	"gate.need.ipowner":    {"ägandet av immateriella rättigheter är inte avgjort", "the ownership of the intellectual property is not settled"},
	"gate.need.testenv":    {"ingen testmiljö är angiven", "no test environment is set"},
	"gate.need.partner":    {"ingen partner är angiven", "no partner is set"},
	"gate.need.spread":     {"sätts när en annan region tar över idén, inte för hand", "set when another region adopts the idea, not by hand"},
	"gate.need.rationale":  {"kräver en motivering", "needs a rationale"},
	"assess.title":         {"Bedömning (poängkort)", "Assessment (scorecard)"},
	"assess.intro":         {"1 = lite, 5 = mycket. För risk betyder 5 lägst risk.", "1 = little, 5 = much. For risk, 5 means the lowest risk."},
	"assess.patient":       {"Nytta för patienten", "Patient benefit"},
	"assess.care":          {"Nytta för vården", "Care benefit"},
	"assess.feasibility":   {"Genomförbarhet", "Feasibility"},
	"assess.novelty":       {"Nyhetsvärde", "Novelty"},
	"assess.market":        {"Marknadspotential", "Market potential"},
	"assess.risk":          {"Risk (5 = lägst)", "Risk (5 = lowest)"},
	"assess.comment":       {"Kommentar", "Comment"},
	"assess.submit":        {"Spara bedömningen", "Save the assessment"},
	"assess.saved":         {"Bedömningen är sparad.", "The assessment has been saved."},
	"edit.title":           {"Arbetsuppgifter", "Working details"},
	"edit.tags":            {"Taggar (kommaseparerade)", "Tags (comma separated)"},
	"edit.ipowner":         {"Ägare av immateriella rättigheter", "Owner of the intellectual property"},
	"edit.agreements":      {"Avtalen är på plats", "The agreements are in place"},
	"edit.testenv":         {"Testmiljö", "Test environment"},
	"edit.partner":         {"Partner", "Partner"},
	"edit.saved":           {"Ändringarna är sparade.", "The changes have been saved."},

	// Board
	"board.title":  {"Idétavla", "Idea board"},
	"board.filter": {"Filtrera", "Filter"},
	"board.any":    {"Alla", "Any"},
	"board.tag":    {"Tagg", "Tag"},
	"board.origin": {"Ursprung", "Origin"},
	"board.apply":  {"Visa", "Show"},
	"board.stale":  {"mer än 30 dagar i steget", "more than 30 days in this stage"},
	"board.days":   {"dagar i steget", "days in this stage"},
	"board.count":  {"idéer", "ideas"},
	"board.empty":  {"Inga idéer här.", "No ideas here."},
	"board.total":  {"Antal idéer på tavlan", "Ideas on the board"},
	"board.search": {"Sök i titel och problem", "Search titles and problems"},
	"board.nohits": {"Inga idéer matchar sökningen.", "No ideas match the search."},

	// Needs
	"needs.title":          {"Behov", "Needs"},
	"needs.intro":          {"Behoven sorterade efter prioritet (senaste screeningens viktade poäng).", "Needs sorted by priority (the latest screening's weighted score)."},
	"needs.none":           {"Inga behov ännu.", "No needs yet."},
	"needs.search":         {"Sök bland behoven", "Search the needs"},
	"needs.searchbutton":   {"Sök", "Search"},
	"needs.nohits":         {"Inga behov matchar sökningen.", "No needs match the search."},
	"needs.byrelevance":    {"Träffarna visas med den som matchar sökningen bäst först.", "The hits are shown best match first."},
	"need.new.title":       {"Beskriv ett behov", "Describe a need"},
	"need.new.intro":       {"Ett behov beskrivs som: Ett sätt att … hos … för att …", "A need is written as: A way to … in … in order to …"},
	"need.problem":         {"Ett sätt att …", "A way to …"},
	"need.problem.hint":    {"Vad behöver lösas? Till exempel: upptäcka fall tidigare", "What needs solving? For example: detect falls earlier"},
	"need.population":      {"… hos …", "… in …"},
	"need.population.hint": {"Vilka gäller det? Till exempel: äldre i hemtjänst", "Who is it about? For example: elderly people in home care"},
	"need.outcome":         {"… för att …", "… in order to …"},
	"need.outcome.hint":    {"Vad vill man uppnå? Till exempel: färre höftfrakturer", "What is the goal? For example: fewer hip fractures"},
	"need.careunit":        {"Vårdenhet", "Care unit"},
	"need.reportedby":      {"Rapporterat av", "Reported by"},
	"need.evidence":        {"Underlag", "Evidence"},
	"need.patients":        {"Berörda patienter per år", "Patients affected per year"},
	"need.submit":          {"Skicka behovet", "Send the need"},
	"need.created":         {"Tack! Behovet är inskickat.", "Thank you! The need has been sent."},
	"need.status":          {"Status", "Status"},
	"need.priority":        {"Prioritet", "Priority"},
	"need.statement":       {"Behovsformulering", "Need statement"},
	"need.published":       {"Publicerat för partner", "Published to partners"},
	"need.links":           {"Kopplingar", "Links"},
	"need.referencedby":    {"Erbjudanden och delprojekt som bygger på behovet", "Offers and subprojects that build on the need"},
	"screen.title":         {"Screening", "Screening"},
	"screen.clinical":      {"Klinisk nytta", "Clinical impact"},
	"screen.patients":      {"Antal berörda patienter", "Patients affected"},
	"screen.cost":          {"Problemets kostnad", "Cost of the problem"},
	"screen.fit":           {"Strategisk passform", "Strategic fit"},
	"screen.feasibility":   {"Genomförbarhet", "Feasibility"},
	"screen.submit":        {"Spara screeningen", "Save the screening"},
	"screen.saved":         {"Screeningen är sparad.", "The screening has been saved."},
	"link.title":           {"Koppla en idé", "Link an idea"},
	"link.target":          {"Idé", "Idea"},
	"link.submit":          {"Koppla", "Link"},
	"link.saved":           {"Kopplingen är sparad.", "The link has been saved."},
	"link.none":            {"Det finns inga idéer att koppla.", "There are no ideas to link."},
	"yes":                  {"Ja", "Yes"},
	"no":                   {"Nej", "No"},

	// Offers
	"offers.title":       {"Erbjudanden – en väg in", "Offers – one way in"},
	"offers.intro":       {"Företagens erbjudanden med dagar kvar till svar.", "Companies' offers with the days left to answer."},
	"offers.none":        {"Inga erbjudanden.", "No offers."},
	"offer.respondby":    {"Svara senast", "Answer by"},
	"offer.daysleft":     {"dagar kvar", "days left"},
	"offer.overdue":      {"Svarstiden har gått ut", "The answer is overdue"},
	"offer.matched":      {"Matchade behov", "Matched needs"},
	"offer.routedto":     {"Skickat till behov", "Routed to need"},
	"offer.route":        {"Skicka till behov", "Route to a need"},
	"offer.route.need":   {"Publicerat behov", "Published need"},
	"offer.routed":       {"Erbjudandet är skickat till behovet.", "The offer has been routed to the need."},
	"offer.nopublished":  {"Inga publicerade behov att skicka till.", "No published needs to route to."},
	"offer.capabilities": {"Förmågor", "Capabilities"},

	// Errors
	"err.fields":    {"Något behöver rättas. Se meddelandena vid fälten.", "Something needs correcting. See the messages next to the fields."},
	"err.required":  {"Fyll i det här fältet.", "Please fill in this field."},
	"err.toolong":   {"Texten är för lång.", "The text is too long."},
	"err.refused":   {"Det gick inte:", "That was refused:"},
	"err.conflict":  {"Någon annan har ändrat det här under tiden. Det du skrev finns kvar nedan – hämta den senaste versionen och gör ändringen igen.", "Someone changed this in the meantime. What you typed is kept below – load the latest version and make the change again."},
	"err.exists":    {"Det finns redan:", "It already exists:"},
	"err.notfound":  {"Sidan finns inte, eller så har du inte tillgång till den.", "The page does not exist, or you do not have access to it."},
	"err.forbidden": {"Du har inte behörighet till det här.", "You do not have permission for this."},
	"err.signin":    {"Du behöver logga in igen.", "You need to sign in again."},
	"err.retry":     {"Tjänsten är hårt belastad just nu. Vänta en stund och försök igen – det du skrev finns kvar.", "The service is busy right now. Wait a moment and try again – what you typed is kept."},
	"err.internal":  {"Något gick fel hos oss. Försök igen om en stund.", "Something went wrong on our side. Please try again in a while."},
	"err.csrf":      {"Formuläret kunde inte skickas. Ladda om sidan och försök igen.", "The form could not be sent. Reload the page and try again."},
	"err.title":     {"Något gick inte som tänkt", "Something did not go as planned"},
	"err.badform":   {"Formuläret innehöll ogiltiga värden.", "The form held values that are not valid."},

	// Stages
	"stage_submitted":      {"Inskickad", "Submitted"},
	"stage_screening":      {"Granskning", "Screening"},
	"stage_selected":       {"Utvald", "Selected"},
	"stage_development":    {"Utveckling", "Development"},
	"stage_testing":        {"Test", "Testing"},
	"stage_implemented":    {"Införd", "Implemented"},
	"stage_commercialised": {"Kommersialiserad", "Commercialised"},
	"stage_spread":         {"Spridd", "Spread"},
	"stage_parked":         {"Parkerad", "Parked"},
	"stage_rejected":       {"Avslagen", "Rejected"},
	"stage_withdrawn":      {"Tillbakadragen", "Withdrawn"},
	"stage_unspecified":    {"Okänt steg", "Unknown stage"},

	// Origins
	"origin_patient":     {"Patient", "Patient"},
	"origin_relative":    {"Närstående", "Relative"},
	"origin_staff":       {"Medarbetare i vården", "Healthcare staff"},
	"origin_student":     {"Student", "Student"},
	"origin_company":     {"Företag", "Company"},
	"origin_academia":    {"Akademi", "Academia"},
	"origin_other":       {"Annat", "Other"},
	"origin_unspecified": {"Välj …", "Choose …"},

	// IP owners
	"ip_owner_unknown":     {"Inte avgjort", "Not settled"},
	"ip_owner_submitter":   {"Idégivaren", "The submitter"},
	"ip_owner_region":      {"Regionen", "The region"},
	"ip_owner_shared":      {"Delat", "Shared"},
	"ip_owner_company":     {"Företag", "A company"},
	"ip_owner_unspecified": {"Inte avgjort", "Not settled"},

	// Need statuses
	"need_status_unspecified":     {"Okänd", "Unknown"},
	"need_status_identified":      {"Identifierat", "Identified"},
	"need_status_validated":       {"Validerat", "Validated"},
	"need_status_prioritised":     {"Prioriterat", "Prioritised"},
	"need_status_solution_search": {"Lösning söks", "Solution search"},
	"need_status_matched":         {"Matchat", "Matched"},
	"need_status_addressed":       {"Åtgärdat", "Addressed"},
	"need_status_closed":          {"Stängt", "Closed"},

	// Offer statuses
	"offer_status_unspecified": {"Okänd", "Unknown"},
	"offer_status_new":         {"Nytt", "New"},
	"offer_status_routed":      {"Skickat till behov", "Routed"},
	"offer_status_in_dialogue": {"I dialog", "In dialogue"},
	"offer_status_closed":      {"Stängt", "Closed"},
}

// translate returns key in lang; a missing key shows as itself, which the
// messages test catches before anyone sees it.
func translate(lang, key string) string {
	m, ok := lookup(key)
	if !ok {
		return key
	}
	if lang == langEN {
		return m[1]
	}
	return m[0]
}

// lookup finds key among the portal's labels.
func lookup(key string) ([2]string, bool) {
	if m, ok := messages[key]; ok {
		return m, true
	}
	if m, ok := workMessages[key]; ok {
		return m, true
	}
	if m, ok := reportMessages[key]; ok {
		return m, true
	}
	m, ok := personMessages[key]
	return m, ok
}

// regionNames are the regions' names as people write them.
var regionNames = map[string]string{
	"blekinge": "Blekinge", "dalarna": "Dalarna", "gotland": "Gotland", "gavleborg": "Gävleborg",
	"halland": "Halland", "jamtland-harjedalen": "Jämtland Härjedalen", "jonkoping": "Jönköpings län",
	"kalmar": "Kalmar län", "kronoberg": "Kronoberg", "norrbotten": "Norrbotten", "skane": "Skåne",
	"stockholm": "Stockholm", "sormland": "Sörmland", "uppsala": "Uppsala", "varmland": "Värmland",
	"vasterbotten": "Västerbotten", "vasternorrland": "Västernorrland", "vastmanland": "Västmanland",
	"vastra-gotaland": "Västra Götaland", "orebro": "Örebro län", "ostergotland": "Östergötland",
}
