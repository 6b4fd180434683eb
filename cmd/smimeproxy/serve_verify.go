package main

import (
	"context"
	"crypto/x509"

	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/config"
	"github.com/smimeproxy/smimeproxy/proxy/admin"
	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
	"github.com/smimeproxy/smimeproxy/smime"
	"github.com/smimeproxy/smimeproxy/smime/revocation"
)

// withVerification fills the signature options of the pipeline from
// [trust], [revocation], [smime] and [status], and records the trust store
// and revocation service in obs for the dashboard. A trust store or
// revocation cache that cannot be loaded is logged and left out: every
// signature is then reported as not passing ("neutral" or unchecked),
// never as valid.
func withVerification(cfg *config.Config, opts pipeline.Options, obs *observability,
	log hclog.Logger) pipeline.Options {
	store, err := loadTrustStore(cfg)
	if err != nil {
		log.Error("cannot load the trust store: no signature will pass", "error", err)
	} else {
		obs.trust = &swappableTrust{}
		obs.trust.store.Store(store)
		opts.Trust = obs.trust
	}
	rev, err := revocation.New(revocationOptions(cfg, log.Named("revocation")))
	if err != nil {
		log.Error("cannot start revocation checks: signatures get temperror", "error", err)
		opts.Revocation = unavailableRevocation(err)
	} else {
		// The refresh loop lives as long as the process.
		go rev.Run(context.Background())
		opts.Revocation = adaptRevocation(rev)
		obs.revocation = rev
	}
	opts.VerifyPolicy = smime.VerifyPolicy{
		AllowSHA1:          cfg.SMIME.AllowSHA1,
		AllowMD5:           cfg.SMIME.AllowMD5,
		RevocationFailOpen: cfg.Revocation.FailOpen,
	}
	opts.SubjectTag = cfg.Status.SubjectTag
	opts.MaxLayers = cfg.SMIME.MaxNestingDepth
	return opts
}

// adaptRevocation turns the revocation package's Checker into the
// interface package smime defines (smime does not import revocation).
func adaptRevocation(c revocation.Checker) smime.RevocationChecker {
	return smime.RevocationFunc(func(ctx context.Context,
		chain []*x509.Certificate) smime.Revocation {
		r := c.Check(ctx, chain)
		out := smime.Revocation{RevokedAt: r.RevokedAt, Reason: r.Reason, Source: r.Source,
			Err: r.Err, Status: smime.RevocationUnknown}
		switch r.Status {
		case revocation.Good:
			out.Status = smime.RevocationGood
		case revocation.Revoked:
			out.Status = smime.RevocationRevoked
		}
		return out
	})
}

func unavailableRevocation(err error) smime.RevocationChecker {
	return smime.RevocationFunc(func(context.Context, []*x509.Certificate) smime.Revocation {
		return smime.Revocation{Status: smime.RevocationUnknown, Source: "crl", Err: err}
	})
}

// trustAnchors lists the trust store for the dashboard.
type trustAnchors struct{ trust *swappableTrust }

func (t trustAnchors) TrustAnchors(context.Context) ([]admin.Anchor, error) {
	var out []admin.Anchor
	for _, e := range t.trust.store.Load().Entries() {
		out = append(out, admin.AnchorOf(e.Cert, string(e.Kind), e.File))
	}
	return out, nil
}

// heldCRLs lists the revocation service's CRLs for the dashboard.
type heldCRLs struct{ service *revocation.Service }

func (h heldCRLs) CRLs(context.Context) ([]admin.CRL, error) {
	var out []admin.CRL
	for _, info := range h.service.CRLs() {
		crl := admin.CRL{Issuer: info.Issuer, ThisUpdate: info.ThisUpdate,
			NextUpdate: info.NextUpdate, Entries: info.Entries}
		if info.Source != "imported" {
			crl.URL = info.Source
		}
		out = append(out, crl)
	}
	return out, nil
}
