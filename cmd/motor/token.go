package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
)

// token prints a token signed with the dev key in the data folder: the same
// key `motor serve` uses when no identity provider is configured.
func token(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "", "role(s), comma separated: submitter, advisor, region_admin, partner, coordinator, service")
	region := fs.String("region", "", "the token's region (coordinator tokens: national)")
	sub := fs.String("sub", "", "subject id (default: dev-ROLE-REGION)")
	name := fs.String("name", "", "display name")
	partner := fs.String("partner", "", "for role partner: the partner resource name (regions/R/partners/P)")
	data := fs.String("data", "./data", "data folder holding the dev signing key")
	ttl := fs.Duration("ttl", 12*time.Hour, "lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var roles []auth.Role
	for _, r := range strings.Split(*role, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roles = append(roles, auth.Role(r))
		}
	}
	var problems []string
	if len(roles) == 0 {
		problems = append(problems, "-role is required (e.g. -role advisor)")
	}
	for _, r := range roles {
		switch r {
		case auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner, auth.Coordinator, auth.Service:
		default:
			problems = append(problems, fmt.Sprintf("-role %q is not a role", r))
		}
	}
	if *region == "" && len(roles) == 1 && roles[0] == auth.Coordinator {
		*region = auth.NationalRegion
	}
	switch {
	case *region == "":
		problems = append(problems, "-region is required (e.g. -region vasterbotten)")
	case *region != auth.NationalRegion && !config.KnownRegion(*region):
		problems = append(problems, fmt.Sprintf("-region %q is not a region id (e.g. vasterbotten, uppsala, or national)", *region))
	}
	if len(roles) == 1 && roles[0] == auth.Partner && *partner == "" {
		problems = append(problems, "-partner is required with -role partner (regions/R/partners/P)")
	}
	if *ttl <= 0 || *ttl > 30*24*time.Hour {
		problems = append(problems, "-ttl must be between 1s and 720h")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	if *sub == "" {
		*sub = "dev-" + strings.ReplaceAll(*role, ",", "-") + "-" + *region
	}
	signer, err := auth.LoadOrCreateDevKey(*data)
	if err != nil {
		return fmt.Errorf("auth.LoadOrCreateDevKey: %w", err)
	}
	tok, err := signer.Sign(auth.Claims{Subject: *sub, Name: *name, Region: *region, Roles: roles, Partner: *partner}, *ttl)
	if err != nil {
		return fmt.Errorf("auth.Sign: %w", err)
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
