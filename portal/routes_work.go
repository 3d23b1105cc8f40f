package portal

import "net/http"

// workRoutes are the pages of region admins, companies and the national
// coordinator.
func (p *Portal) workRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /subprojects", p.signedIn(p.subprojects))
	mux.HandleFunc("GET /subprojects/new", p.signedIn(p.newSubprojectPage))
	mux.HandleFunc("POST /subprojects/new", p.signedIn(p.createSubproject))
	mux.HandleFunc("POST /subprojects/summary", p.signedIn(p.budgetSummary))
	mux.HandleFunc("GET /regions/{region}/subprojects/{subproject}", p.signedIn(p.subprojectPage))
	mux.HandleFunc("POST /regions/{region}/subprojects/{subproject}/edit", p.signedIn(p.editSubproject))
	mux.HandleFunc("POST /regions/{region}/subprojects/{subproject}/close", p.signedIn(p.closeSubproject))
	mux.HandleFunc("POST /regions/{region}/subprojects/{subproject}/costReports", p.signedIn(p.createCostReport))
	mux.HandleFunc("POST /regions/{region}/subprojects/{subproject}/costReports/{report}/submit", p.signedIn(p.submitCostReport))
	mux.HandleFunc("POST /regions/{region}/subprojects/{subproject}/approve", p.signedIn(p.approveSubproject))
	mux.HandleFunc("POST /regions/{region}/subprojects/{subproject}/costReports/{report}/certify", p.signedIn(p.certifyCostReport))

	mux.HandleFunc("GET /partners", p.signedIn(p.partners))
	mux.HandleFunc("POST /partners", p.signedIn(p.createPartner))
	mux.HandleFunc("POST /partners/check", p.signedIn(p.checkOrgNumber))
	mux.HandleFunc("GET /regions/{region}/partners/{partner}", p.signedIn(p.partnerPage))
	mux.HandleFunc("POST /regions/{region}/partners/{partner}/agreements", p.signedIn(p.createAgreement))
	mux.HandleFunc("POST /regions/{region}/partners/{partner}/agreements/{agreement}/sign", p.signedIn(p.signAgreement))
	mux.HandleFunc("POST /regions/{region}/partners/{partner}/agreements/{agreement}/terminate", p.signedIn(p.terminateAgreement))
	mux.HandleFunc("GET /audit", p.signedIn(p.audit))

	mux.HandleFunc("GET /company", p.signedIn(p.company))
	mux.HandleFunc("POST /company/offers", p.signedIn(p.sendOffer))

	mux.HandleFunc("GET /dashboard", p.signedIn(p.dashboard))
}
