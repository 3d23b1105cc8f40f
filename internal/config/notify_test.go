package config

import (
	"errors"
	"strings"
	"testing"
)

// TestLoadDeployment_Notify: the notify section is read, and every wrong
// value in it is named at once.
func TestLoadDeployment_Notify(t *testing.T) {
	d, err := LoadDeployment(writeConfig(t, `{"name":"uppsala","notify":{
		"smtp":{"host":"smtp.region.example","port":587,"from":"Motor <motor@region.example>","username":"motor"},
		"portalURL":"https://motor.region.example",
		"roleMail":{"uppsala":{"advisor":[{"address":"innovation@region.example","subject":"anna"}]},"national":{"coordinator":[{"address":"samordnare@example.se"}]}},
		"webhooks":{"allowedHosts":["hooks.internal"]},
		"offerDueSoonDays":3,"costReportWaitDays":15}}`))
	if err != nil {
		t.Fatal(err)
	}
	n := d.Notify
	if n.SMTP == nil || n.SMTP.Host != "smtp.region.example" || n.SMTP.Port != 587 || n.RoleMail["uppsala"]["advisor"][0].Subject != "anna" ||
		n.Webhooks.AllowedHosts[0] != "hooks.internal" || n.OfferDueSoonDays != 3 || n.CostReportWaitDays != 15 {
		t.Errorf("notify: %+v", n)
	}

	_, err = LoadDeployment(writeConfig(t, `{"name":"uppsala","notify":{
		"smtp":{"host":"smtp.example:25","port":0,"from":"nobody","password":"x"},
		"portalURL":"ftp://x",
		"roleMail":{"narnia":{},"uppsala":{"janitor":[],"advisor":[{"address":"not-an-address"}]}},
		"webhooks":{"allowedHosts":["http://x/"],"allowHttp":true},
		"offerDueSoonDays":-1,"costReportWaitDays":"ten","colour":1}}`))
	var pe *ProblemsError
	if !errors.As(err, &pe) {
		t.Fatalf("LoadDeployment: %v, want a *ProblemsError", err)
	}
	for _, w := range []string{
		"notify.smtp.password: unknown field", `notify.smtp.host: "smtp.example:25" is not a host name`, "notify.smtp.port: 0 is not a port",
		`notify.smtp.from: "nobody" is not an e-mail address`, `notify.portalURL: "ftp://x" is not an http(s) URL`,
		"notify.roleMail.narnia: unknown region", "notify.roleMail.uppsala.janitor: not a role",
		`notify.roleMail.uppsala.advisor[0].address: "not-an-address"`, `notify.webhooks.allowedHosts[0]: "http://x/"`,
		"notify.webhooks.allowHttp: unknown field", "notify.offerDueSoonDays: -1", "notify.costReportWaitDays: want int", "notify.colour: unknown field",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not name %q:\n%v", w, err)
		}
	}
}
