package auth

import (
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	personv1 "github.com/innovationsmotorer/motor/proto/innovation/person/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// Who may call what. Every RPC of every Motor service has one row in
// Table; the Gate (gate.go) enforces it before any handler runs, and a call
// to a method without a row is refused. The handlers then check the object
// itself (the region of a token against the region of the resource, the
// owner of an idea): the table says which kinds of caller may reach a
// handler at all, the handler what they may do there.
//
// There are three kinds of caller:
//
//   - a user: a verified bearer token, over plain text, this deployment's
//     own certificate, or a peer's certificate that covers the token's region
//     (PeerPolicy.bind). Rule.Roles lists the roles that reach the handler;
//     none means no token is accepted, whoever holds it.
//   - a peer: another deployment listed in `peers`, by its CA-verified
//     certificate, with no token: that deployment's own system call. It may
//     make only the call its relationship to this deployment needs
//     (Rule.Peer), and where the relationship is bound to regions, only for
//     a resource (Rule.Field) of a region the peer serves.
//   - internal: a service of this very process, by the credential the
//     process minted at start (ServiceCredential). Rule.Internal says whether
//     the call is one a service makes as itself.

// Relationship is what one deployment may ask of another as itself.
type Relationship string

const (
	// NoPeer: no deployment calls this as itself.
	NoPeer Relationship = ""
	// NationalReadsRegion: the national deployment's coordinator reads a
	// region's figures for the dashboard and the common needs.
	NationalReadsRegion Relationship = "national-reads-region"
	// RegionFundsOnLedger: a region's funding service reserves, pays and
	// releases co-financing on the national ledger, only for subprojects of
	// the regions that deployment serves.
	RegionFundsOnLedger Relationship = "region-funds-on-ledger"
	// RegionReadsLedger: a region's funding service reads the national
	// programmes (a subproject's rate) and their allocations (the
	// reconciler).
	RegionReadsLedger Relationship = "region-reads-ledger"
	// RegionSpreadsIdea: a region's idea service has its idea adopted by
	// another region, only with a source idea of a region it serves.
	RegionSpreadsIdea Relationship = "region-spreads-idea"
)

// Rule is one row of the table.
type Rule struct {
	// Roles are the token roles that reach the handler; none means the
	// method takes no user token at all.
	Roles []Role
	// Internal lets this deployment's own services call it as themselves.
	Internal bool
	// Peer is the one relationship under which another deployment may call
	// it as itself.
	Peer Relationship
	// Field names the request field holding the resource name
	// (regions/{region}/…) whose region the calling peer must serve, for
	// relationships bound to regions.
	Field string
	// Relay lets the national deployment make the call as itself on behalf
	// of a region peer it has admitted under Peer: it checked the region of
	// Field against that peer, so regions trust the national deployment
	// instead of listing each other (a spread idea's adoption).
	Relay bool
}

// Role sets that several rows share.
var (
	staff        = []Role{Advisor, RegionAdmin}
	statsReaders = []Role{Advisor, RegionAdmin, Coordinator, Service}
	auditReaders = []Role{RegionAdmin, Coordinator}
	ideaReaders  = []Role{Submitter, Advisor, RegionAdmin, Coordinator, Service}
	// ownIdeas may read an idea: its submitter (a company user included)
	// and the region's staff and national callers.
	ownIdeas     = []Role{Submitter, Advisor, RegionAdmin, Partner, Coordinator, Service}
	vocabulary   = []Role{Submitter, Advisor, RegionAdmin, Partner, Coordinator, Service}
	needReaders  = []Role{Submitter, Advisor, RegionAdmin, Partner, Coordinator, Service}
	orgReaders   = []Role{Advisor, RegionAdmin, Partner, Coordinator, Service}
	offerers     = []Role{Partner, Advisor, RegionAdmin}
	fundReaders  = []Role{RegionAdmin, Advisor, Coordinator, Service}
	ledgerReader = []Role{Coordinator, Service, RegionAdmin, Advisor}
	national     = []Role{Coordinator, Service}
	people       = []Role{Submitter, Advisor, RegionAdmin, Partner, Coordinator}
	admins       = []Role{RegionAdmin}
	// reportReaders read a region's reports over time.
	reportReaders = []Role{Advisor, RegionAdmin, Coordinator}
)

// regionFigures is the row of a region's figures: the region's staff,
// national coordinators, and the national deployment itself.
func regionFigures() Rule {
	return Rule{Roles: statsReaders, Peer: NationalReadsRegion}
}

// regionStats is a Get…Stats row: as regionFigures, and the deployment's
// own figures service (and dashboard), which asks the four Get…Stats as
// itself once it has admitted the caller.
func regionStats() Rule {
	r := regionFigures()
	r.Internal = true
	return r
}

// moneyCall is a mutating ledger row: no user token ever, only a funding
// service acting for a subproject of a region it serves.
func moneyCall() Rule {
	return Rule{Internal: true, Peer: RegionFundsOnLedger, Field: "subproject"}
}

// ledgerRead is a ledger read that a region's funding service makes as
// itself.
func ledgerRead() Rule {
	return Rule{Roles: ledgerReader, Internal: true, Peer: RegionReadsLedger}
}

// Table returns the access table, by full gRPC method name. It is built
// afresh on each call, so callers may keep or change their copy.
func Table() map[string]Rule {
	return map[string]Rule{
		// idea (Get of an idea, a need and a partner is also internal: the
		// funding service checks, as itself, that what a subproject names
		// exists in a region this deployment serves; the reports service of this
		// process reads ideas and their history as itself to keep its figures,
		// and services see no personal data)
		ideav1.IdeaService_CreateIdea_FullMethodName:       {Roles: []Role{Submitter, Advisor, RegionAdmin, Partner, Service}},
		ideav1.IdeaService_GetIdea_FullMethodName:          {Roles: ownIdeas, Internal: true},
		ideav1.IdeaService_ListIdeas_FullMethodName:        {Roles: ownIdeas},
		ideav1.IdeaService_UpdateIdea_FullMethodName:       {Roles: []Role{Submitter, Advisor, RegionAdmin}},
		ideav1.IdeaService_TransitionIdea_FullMethodName:   {Roles: []Role{Submitter, Advisor, RegionAdmin}},
		ideav1.IdeaService_ListIdeaHistory_FullMethodName:  {Roles: ownIdeas, Internal: true},
		ideav1.IdeaService_CreateAssessment_FullMethodName: {Roles: staff},
		ideav1.IdeaService_ListAssessments_FullMethodName:  {Roles: statsReaders},
		ideav1.IdeaService_FindSimilarIdeas_FullMethodName: {Roles: ideaReaders},
		ideav1.IdeaService_EraseSubmitter_FullMethodName:   {Roles: []Role{Submitter, RegionAdmin}},
		ideav1.IdeaService_SpreadIdea_FullMethodName:       {Roles: staff},
		// Adoption is made by the source region's idea service, never by a
		// person: it vouches that the source idea exists and is spreadable.
		// The national deployment relays an adoption to a region the
		// source region has no peer entry for (services/idea/relay.go).
		ideav1.IdeaService_AdoptIdea_FullMethodName:       {Internal: true, Peer: RegionSpreadsIdea, Field: "spread_from", Relay: true},
		ideav1.IdeaService_ListAuditEvents_FullMethodName: {Roles: auditReaders},
		ideav1.IdeaService_GetIdeaStats_FullMethodName:    regionStats(),
		ideav1.IdeaService_MergeIdea_FullMethodName:       {Roles: staff},
		// back-references: the needs and funding services of this process
		// record their links on the idea as themselves (links.go)
		ideav1.IdeaService_SetBacklink_FullMethodName: {Internal: true},
		// selection workshops: the region's staff run them; national
		// callers read them
		ideav1.IdeaService_CreateWorkshop_FullMethodName:     {Roles: staff},
		ideav1.IdeaService_GetWorkshop_FullMethodName:        {Roles: statsReaders},
		ideav1.IdeaService_ListWorkshops_FullMethodName:      {Roles: statsReaders},
		ideav1.IdeaService_GetWorkshopResult_FullMethodName:  {Roles: statsReaders},
		ideav1.IdeaService_DecideWorkshopIdea_FullMethodName: {Roles: staff},
		// categories: region admins keep the vocabulary; everyone who tags
		// or reads ideas may read it
		ideav1.IdeaService_CreateCategory_FullMethodName:          {Roles: []Role{RegionAdmin}},
		ideav1.IdeaService_GetCategory_FullMethodName:             {Roles: vocabulary},
		ideav1.IdeaService_ListCategories_FullMethodName:          {Roles: vocabulary},
		ideav1.IdeaService_UpdateCategory_FullMethodName:          {Roles: []Role{RegionAdmin}},
		ideav1.IdeaService_DeleteCategory_FullMethodName:          {Roles: []Role{RegionAdmin}},
		ideav1.IdeaService_CreateFocusGroupSession_FullMethodName: {Roles: staff},
		// test beds and test plans
		ideav1.IdeaService_CreateTestBed_FullMethodName:     {Roles: staff},
		ideav1.IdeaService_GetTestBed_FullMethodName:        {Roles: statsReaders},
		ideav1.IdeaService_ListTestBeds_FullMethodName:      {Roles: statsReaders},
		ideav1.IdeaService_CreateTestPlan_FullMethodName:    {Roles: staff},
		ideav1.IdeaService_ListTestPlans_FullMethodName:     {Roles: statsReaders},
		ideav1.IdeaService_ApproveTestPlan_FullMethodName:   {Roles: staff},
		ideav1.IdeaService_RecordTestOutcome_FullMethodName: {Roles: staff},

		// needs (the reports service reads a need and its history as
		// itself, like an idea, and an offer likewise)
		needsv1.NeedsService_CreateNeed_FullMethodName:      {Roles: []Role{Submitter, Advisor, RegionAdmin}},
		needsv1.NeedsService_GetNeed_FullMethodName:         {Roles: needReaders, Internal: true},
		needsv1.NeedsService_ListNeeds_FullMethodName:       {Roles: needReaders, Peer: NationalReadsRegion},
		needsv1.NeedsService_UpdateNeed_FullMethodName:      {Roles: staff},
		needsv1.NeedsService_TransitionNeed_FullMethodName:  {Roles: staff},
		needsv1.NeedsService_ListNeedHistory_FullMethodName: {Roles: ideaReaders, Internal: true},
		needsv1.NeedsService_CreateScreening_FullMethodName: {Roles: staff},
		needsv1.NeedsService_ListScreenings_FullMethodName:  {Roles: statsReaders},
		needsv1.NeedsService_LinkNeed_FullMethodName:        {Roles: staff},
		needsv1.NeedsService_UnlinkNeed_FullMethodName:      {Roles: staff},
		// the partner and funding services of this process record their
		// references on the need as themselves (backlinks.go)
		needsv1.NeedsService_SetBacklink_FullMethodName:      {Internal: true},
		needsv1.NeedsService_FindSimilarNeeds_FullMethodName: {Roles: needReaders},
		needsv1.NeedsService_ListAuditEvents_FullMethodName:  {Roles: auditReaders},
		needsv1.NeedsService_GetNeedStats_FullMethodName:     regionStats(),

		// partner
		partnerv1.PartnerService_CreatePartner_FullMethodName:   {Roles: staff},
		partnerv1.PartnerService_GetPartner_FullMethodName:      {Roles: orgReaders, Internal: true},
		partnerv1.PartnerService_ListPartners_FullMethodName:    {Roles: orgReaders},
		partnerv1.PartnerService_UpdatePartner_FullMethodName:   {Roles: staff},
		partnerv1.PartnerService_CreateAgreement_FullMethodName: {Roles: staff},
		partnerv1.PartnerService_GetAgreement_FullMethodName:    {Roles: orgReaders},
		partnerv1.PartnerService_ListAgreements_FullMethodName:  {Roles: orgReaders, Internal: true},
		// Signing, amending and ending an agreement bind the region: its
		// admins only (advisors record agreements as drafts).
		partnerv1.PartnerService_SignAgreement_FullMethodName:          {Roles: []Role{RegionAdmin}},
		partnerv1.PartnerService_AmendAgreement_FullMethodName:         {Roles: []Role{RegionAdmin}},
		partnerv1.PartnerService_TerminateAgreement_FullMethodName:     {Roles: []Role{RegionAdmin}},
		partnerv1.PartnerService_ListAgreementRevisions_FullMethodName: {Roles: orgReaders},
		partnerv1.PartnerService_CreateOffer_FullMethodName:            {Roles: offerers},
		partnerv1.PartnerService_GetOffer_FullMethodName:               {Roles: orgReaders, Internal: true},
		partnerv1.PartnerService_ListOffers_FullMethodName:             {Roles: orgReaders},
		partnerv1.PartnerService_RouteOffer_FullMethodName:             {Roles: staff},
		partnerv1.PartnerService_TransitionOffer_FullMethodName:        {Roles: offerers},
		partnerv1.PartnerService_ListAuditEvents_FullMethodName:        {Roles: auditReaders},
		partnerv1.PartnerService_GetPartnerStats_FullMethodName:        regionStats(),

		// funding: a region's subprojects
		fundingv1.SubprojectService_CreateSubproject_FullMethodName:   {Roles: []Role{RegionAdmin}},
		fundingv1.SubprojectService_GetSubproject_FullMethodName:      {Roles: fundReaders},
		fundingv1.SubprojectService_ListSubprojects_FullMethodName:    {Roles: fundReaders},
		fundingv1.SubprojectService_UpdateSubproject_FullMethodName:   {Roles: []Role{RegionAdmin}},
		fundingv1.SubprojectService_SubmitSubproject_FullMethodName:   {Roles: []Role{RegionAdmin}},
		fundingv1.SubprojectService_ApproveSubproject_FullMethodName:  {Roles: []Role{Coordinator}},
		fundingv1.SubprojectService_RejectSubproject_FullMethodName:   {Roles: []Role{Coordinator}},
		fundingv1.SubprojectService_WithdrawSubproject_FullMethodName: {Roles: []Role{RegionAdmin}},
		fundingv1.SubprojectService_CloseSubproject_FullMethodName:    {Roles: []Role{RegionAdmin, Coordinator}},
		fundingv1.SubprojectService_CreateCostReport_FullMethodName:   {Roles: []Role{RegionAdmin}},
		fundingv1.SubprojectService_GetCostReport_FullMethodName:      {Roles: fundReaders},
		fundingv1.SubprojectService_ListCostReports_FullMethodName:    {Roles: fundReaders},
		fundingv1.SubprojectService_SubmitCostReport_FullMethodName:   {Roles: []Role{RegionAdmin}},
		fundingv1.SubprojectService_CertifyCostReport_FullMethodName:  {Roles: []Role{Coordinator}},
		fundingv1.SubprojectService_ReturnCostReport_FullMethodName:   {Roles: []Role{Coordinator}},
		fundingv1.SubprojectService_ListAuditEvents_FullMethodName:    {Roles: auditReaders},
		fundingv1.SubprojectService_GetSubprojectStats_FullMethodName: regionStats(),

		// funding: the national programme ledger
		fundingv1.ProgrammeService_CreateProgramme_FullMethodName:  {Roles: []Role{Coordinator}},
		fundingv1.ProgrammeService_GetProgramme_FullMethodName:     ledgerRead(),
		fundingv1.ProgrammeService_ListProgrammes_FullMethodName:   ledgerRead(),
		fundingv1.ProgrammeService_ListAllocations_FullMethodName:  ledgerRead(),
		fundingv1.ProgrammeService_ReserveFunds_FullMethodName:     moneyCall(),
		fundingv1.ProgrammeService_RecordPayment_FullMethodName:    moneyCall(),
		fundingv1.ProgrammeService_ReleaseFunds_FullMethodName:     moneyCall(),
		fundingv1.ProgrammeService_ListLedgerEvents_FullMethodName: {Roles: []Role{Coordinator}},

		// reports
		reportsv1.ReportService_GetIdeaReport_FullMethodName:         {Roles: reportReaders},
		reportsv1.ReportService_GetNeedReport_FullMethodName:         {Roles: reportReaders},
		reportsv1.ReportService_GetOfferReport_FullMethodName:        {Roles: reportReaders},
		reportsv1.ReportService_GetMoneyReport_FullMethodName:        {Roles: []Role{Coordinator}},
		reportsv1.ReportService_GetNationalIdeaReport_FullMethodName: {Roles: []Role{Coordinator}},
		// Whoever may list a collection may export what they see of it.
		reportsv1.ReportService_RecordExport_FullMethodName:    {Roles: []Role{Submitter, Advisor, RegionAdmin, Partner, Coordinator}},
		reportsv1.ReportService_ListAuditEvents_FullMethodName: {Roles: auditReaders},

		// coordinator (national)
		coordinatorv1.CoordinatorService_GetDashboard_FullMethodName:    {Roles: national},
		coordinatorv1.CoordinatorService_ListRegions_FullMethodName:     {Roles: national},
		coordinatorv1.CoordinatorService_ListCommonNeeds_FullMethodName: {Roles: national},
		// a region's figures in one call (every region deployment runs it
		// next to its funding service): whoever may read each of its
		// Get…Stats
		coordinatorv1.RegionFiguresService_GetRegionFigures_FullMethodName: regionFigures(),

		// notify: each person's own inbox and settings; a region's webhooks
		// are its admins'.
		notifyv1.NotificationService_ListNotifications_FullMethodName:          {Roles: people},
		notifyv1.NotificationService_MarkNotificationsRead_FullMethodName:      {Roles: people},
		notifyv1.NotificationService_GetNotificationSettings_FullMethodName:    {Roles: people},
		notifyv1.NotificationService_UpdateNotificationSettings_FullMethodName: {Roles: people},
		notifyv1.NotificationService_CreateWebhookSubscription_FullMethodName:  {Roles: admins},
		notifyv1.NotificationService_GetWebhookSubscription_FullMethodName:     {Roles: admins},
		notifyv1.NotificationService_ListWebhookSubscriptions_FullMethodName:   {Roles: admins},
		notifyv1.NotificationService_UpdateWebhookSubscription_FullMethodName:  {Roles: admins},
		notifyv1.NotificationService_DeleteWebhookSubscription_FullMethodName:  {Roles: admins},
		notifyv1.NotificationService_ListWebhookDeliveries_FullMethodName:      {Roles: admins},
		notifyv1.NotificationService_RedeliverWebhookDelivery_FullMethodName:   {Roles: admins},
		// a person's data: the person service fans out to each service's
		// internal export and erasure as this process; people reach only the
		// person service, which checks the person is the caller or the
		// caller the region's admin.
		personv1.PersonService_ExportPersonData_FullMethodName:       {Roles: []Role{Submitter, Advisor, RegionAdmin, Partner}},
		personv1.PersonService_ErasePerson_FullMethodName:            {Roles: []Role{Submitter, Advisor, RegionAdmin, Partner}},
		ideav1.IdeaService_ExportPersonData_FullMethodName:           {Internal: true},
		ideav1.IdeaService_ErasePersonData_FullMethodName:            {Internal: true},
		needsv1.NeedsService_ExportPersonData_FullMethodName:         {Internal: true},
		needsv1.NeedsService_ErasePersonData_FullMethodName:          {Internal: true},
		partnerv1.PartnerService_ExportPersonData_FullMethodName:     {Internal: true},
		partnerv1.PartnerService_ErasePersonData_FullMethodName:      {Internal: true},
		fundingv1.SubprojectService_ExportPersonData_FullMethodName:  {Internal: true},
		fundingv1.SubprojectService_ErasePersonData_FullMethodName:   {Internal: true},
		notifyv1.NotificationService_ExportPersonData_FullMethodName: {Internal: true},
		notifyv1.NotificationService_ErasePersonData_FullMethodName:  {Internal: true},
		reportsv1.ReportService_ExportPersonData_FullMethodName:      {Internal: true},
		reportsv1.ReportService_ErasePersonData_FullMethodName:       {Internal: true},
	}
}
