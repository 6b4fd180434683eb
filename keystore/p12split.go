package keystore

import (
	"crypto"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// Splitting PKCS#12 files (RFC 7292) that go-pkcs12 cannot decode whole.

var errNothingToSplit = errors.New("keystore: pkcs12: nothing to split")

// Object identifiers of RFC 7292 and RFC 8018 that splitting needs.
var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidKeyBag        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedBag   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidPBMAC1        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidPBKDF2        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA256    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
)

// Limits on what splitting accepts, so a crafted file cannot make us run
// the password-based decryption without end.
const (
	maxP12Keys  = 8
	maxP12Safes = 16
)

// RFC 7292 section 4: PFX, ContentInfo (from PKCS #7) and SafeBag, decoded
// only as far as splitting needs.
type p12PFX struct {
	Version  int
	AuthSafe p12ContentInfo
	MacData  asn1.RawValue `asn1:"optional"`
}

type p12ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type p12Bag struct {
	ID    asn1.ObjectIdentifier
	Value asn1.RawValue
	Attrs asn1.RawValue `asn1:"optional"`
}

// p12Units is a PFX rewritten in DER and cut into pieces that go-pkcs12
// can decode in pairs: each key bag alone, and each safe that may hold
// certificates.
type p12Units struct {
	keys  [][]byte // DER ContentInfo (data) with one key bag
	certs [][]byte // DER ContentInfo: an encrypted safe, or the clear bags
	safes int      // safes in the original file
}

// splitPKCS12 decodes a PFX that go-pkcs12 cannot take whole: BER, several
// keys, or more than two safes. It checks the file's MAC itself, rewrites
// it as DER, and builds small PFXs, each with one key bag and one
// certificate safe, which go-pkcs12 decodes; so all password-based
// decryption stays in that library. The rebuilt files carry a PBMAC1 MAC
// (RFC 9579) computed here, as go-pkcs12 insists on one; it authenticates
// nothing, the original MAC was checked already.
//
// TODO(pkcs12-multikey): key bags inside an encrypted safe are found only
// when the file has at most two safes; splitting more would mean
// decrypting here. No tool we know writes that.
func splitPKCS12(p12 []byte, password string) ([]keyPair, error) {
	units, err := cutPFX(p12, password)
	if err != nil {
		return nil, err
	}
	if len(units.keys) == 0 {
		return decodeWhole(units, password)
	}
	var keys []crypto.PrivateKey
	var certs []*x509.Certificate
	for _, k := range units.keys {
		key, found, err := decodeKeyUnit(k, units.certs, password)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
		certs = appendNewCerts(certs, found)
	}
	pairs := make([]keyPair, 0, len(keys))
	for _, key := range keys {
		pair, err := matchKey(key, certs)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, pair)
	}
	return pairs, nil
}

// decodeWhole decodes a rewritten file whose key is inside an encrypted
// safe, which works when there are at most two safes.
func decodeWhole(units *p12Units, password string) ([]keyPair, error) {
	if len(units.certs) > 2 {
		return nil, fmt.Errorf("%w: key inside one of %d encrypted safes", ErrPKCS12, units.safes)
	}
	sub, err := buildPFX(units.certs, password)
	if err != nil {
		return nil, err
	}
	key, cert, cas, err := pkcs12.DecodeChain(sub, password)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	pair, err := matchKey(key, append([]*x509.Certificate{cert}, cas...))
	if err != nil {
		return nil, err
	}
	return []keyPair{pair}, nil
}

// decodeKeyUnit decodes one key bag paired with each certificate safe in
// turn and returns the key and every certificate seen.
func decodeKeyUnit(key []byte, certSafes [][]byte,
	password string) (crypto.PrivateKey, []*x509.Certificate, error) {
	var priv crypto.PrivateKey
	var certs []*x509.Certificate
	var lastErr error
	for _, c := range certSafes {
		sub, err := buildPFX([][]byte{key, c}, password)
		if err != nil {
			return nil, nil, err
		}
		k, cert, cas, err := pkcs12.DecodeChain(sub, password)
		if err != nil {
			lastErr = err // e.g. a safe without certificates
			continue
		}
		priv = k
		certs = append(append(certs, cert), cas...)
	}
	if priv == nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPKCS12, lastErr)
	}
	return priv, certs, nil
}

// appendNewCerts appends the certificates of add that are not in certs.
func appendNewCerts(certs, add []*x509.Certificate) []*x509.Certificate {
	for _, a := range add {
		dup := false
		for _, c := range certs {
			dup = dup || c.Equal(a)
		}
		if !dup {
			certs = append(certs, a)
		}
	}
	return certs
}

// cutPFX checks the MAC of p12 and splits its authenticated safe into
// units. It returns errNothingToSplit when the file is not a PFX we can
// take apart, so that the caller reports go-pkcs12's original error.
func cutPFX(p12 []byte, password string) (*p12Units, error) {
	safes, err := authSafes(p12, password)
	if err != nil {
		return nil, err
	}
	units := &p12Units{safes: len(safes)}
	var clearBags []asn1.RawValue
	for _, safe := range safes {
		bags, encrypted, err := readSafe(safe)
		if err != nil {
			return nil, err
		}
		if encrypted != nil {
			units.certs = append(units.certs, encrypted)
			continue
		}
		for _, b := range bags {
			if !isKeyBag(b) {
				clearBags = append(clearBags, b)
				continue
			}
			ci, err := dataSafe([]asn1.RawValue{b})
			if err != nil {
				return nil, err
			}
			units.keys = append(units.keys, ci)
		}
	}
	return units.finish(clearBags)
}

// finish adds the clear bags as one certificate safe and applies limits.
func (u *p12Units) finish(clearBags []asn1.RawValue) (*p12Units, error) {
	if len(clearBags) > 0 {
		ci, err := dataSafe(clearBags)
		if err != nil {
			return nil, err
		}
		u.certs = append(u.certs, ci)
	}
	if len(u.certs) == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrPKCS12)
	}
	if len(u.keys) > maxP12Keys || len(u.certs) > maxP12Safes {
		return nil, fmt.Errorf("%w: %d keys in %d safes is more than we accept",
			ErrPKCS12, len(u.keys), u.safes)
	}
	return u, nil
}

// authSafes rewrites p12 as DER, checks its MAC and returns the
// ContentInfos of its authenticated safe, each in DER.
func authSafes(p12 []byte, password string) ([]asn1.RawValue, error) {
	der, err := berToDER(p12)
	if err != nil {
		return nil, errNothingToSplit
	}
	var pfx p12PFX
	if err := unmarshalAll(der, &pfx); err != nil || pfx.Version != 3 ||
		!pfx.AuthSafe.ContentType.Equal(oidData) {
		return nil, errNothingToSplit
	}
	var content []byte
	if err := unmarshalAll(pfx.AuthSafe.Content.Bytes, &content); err != nil {
		return nil, errNothingToSplit
	}
	if len(pfx.MacData.FullBytes) == 0 {
		return nil, fmt.Errorf("%w: no MAC", ErrPKCS12)
	}
	if err := verifyP12Mac(pfx.MacData.FullBytes, content, password); err != nil {
		return nil, err
	}
	if content, err = berToDER(content); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	var safes []asn1.RawValue
	if err := unmarshalAll(content, &safes); err != nil {
		return nil, fmt.Errorf("%w: authenticated safe: %w", ErrPKCS12, err)
	}
	return safes, nil
}

// readSafe returns the bags of a data safe, or the DER ContentInfo of an
// encrypted one.
func readSafe(safe asn1.RawValue) (bags []asn1.RawValue, encrypted []byte, err error) {
	var ci p12ContentInfo
	if err := unmarshalAll(safe.FullBytes, &ci); err != nil {
		return nil, nil, fmt.Errorf("%w: safe: %w", ErrPKCS12, err)
	}
	switch {
	case ci.ContentType.Equal(oidEncryptedData):
		encrypted, err = flattenEncryptedData(ci.Content.Bytes)
		return nil, encrypted, err
	case !ci.ContentType.Equal(oidData):
		return nil, nil, fmt.Errorf("%w: safe of type %s", ErrPKCS12, ci.ContentType)
	}
	var content []byte
	if err := unmarshalAll(ci.Content.Bytes, &content); err != nil {
		return nil, nil, fmt.Errorf("%w: safe: %w", ErrPKCS12, err)
	}
	if content, err = berToDER(content); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	if err := unmarshalAll(content, &bags); err != nil {
		return nil, nil, fmt.Errorf("%w: safe contents: %w", ErrPKCS12, err)
	}
	return bags, nil, nil
}

// p12EncryptedData is EncryptedData (RFC 5652 section 8) as PKCS#12 uses it.
type p12EncryptedData struct {
	Version int
	Info    struct {
		ContentType asn1.ObjectIdentifier
		Algorithm   pkix.AlgorithmIdentifier
		Content     asn1.RawValue `asn1:"optional"`
	}
}

// flattenEncryptedData joins the [0] IMPLICIT OCTET STRING of encrypted
// content, which BER writers chunk, and returns the safe's ContentInfo.
func flattenEncryptedData(der []byte) ([]byte, error) {
	var ed p12EncryptedData
	if err := unmarshalAll(der, &ed); err != nil {
		return nil, fmt.Errorf("%w: encrypted safe: %w", ErrPKCS12, err)
	}
	if c := &ed.Info.Content; c.IsCompound {
		var chunks [][]byte
		for rest := c.Bytes; len(rest) > 0; {
			var chunk asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &chunk); err != nil {
				return nil, fmt.Errorf("%w: encrypted safe: %w", ErrPKCS12, err)
			}
			chunks = append(chunks, chunk.FullBytes)
		}
		joined, err := joinChunks(chunks, asn1.TagOctetString)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
		}
		*c = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: joined}
	}
	inner, err := asn1.Marshal(ed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	return marshalContentInfo(oidEncryptedData, inner)
}

func isKeyBag(raw asn1.RawValue) bool {
	var bag p12Bag
	if err := unmarshalAll(raw.FullBytes, &bag); err != nil {
		return false
	}
	return bag.ID.Equal(oidKeyBag) || bag.ID.Equal(oidShroudedBag)
}

// dataSafe wraps bags in a data ContentInfo.
func dataSafe(bags []asn1.RawValue) ([]byte, error) {
	content, err := asn1.Marshal(bags)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	return wrapData(content)
}

// wrapData returns ContentInfo{data, [0] EXPLICIT OCTET STRING content}.
func wrapData(content []byte) ([]byte, error) {
	octets, err := asn1.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	return marshalContentInfo(oidData, octets)
}

// marshalContentInfo returns ContentInfo{typ, [0] EXPLICIT inner}.
func marshalContentInfo(typ asn1.ObjectIdentifier, inner []byte) ([]byte, error) {
	ci := p12ContentInfo{ContentType: typ, Content: asn1.RawValue{
		Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner,
	}}
	der, err := asn1.Marshal(ci)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	return der, nil
}

// PBMAC1 structures, RFC 9579 section 3 and RFC 8018 appendix A.
type p12MacData struct {
	Mac        p12DigestInfo
	MacSalt    []byte
	Iterations int
}

type p12DigestInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Digest    []byte
}

type pbmac1Params struct {
	KDF    pkix.AlgorithmIdentifier
	MacAlg pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int
	PRF        pkix.AlgorithmIdentifier
}

// buildPFX makes a PFX of the given ContentInfos with a PBMAC1 MAC
// (PBKDF2-HMAC-SHA256, one iteration: see splitPKCS12 for why that is
// enough).
func buildPFX(safes [][]byte, password string) ([]byte, error) {
	raws := make([]asn1.RawValue, len(safes))
	for i, s := range safes {
		raws[i] = asn1.RawValue{FullBytes: s}
	}
	content, err := asn1.Marshal(raws)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	mac, err := pbmac1(content, password)
	if err != nil {
		return nil, err
	}
	authSafe, err := wrapData(content)
	if err != nil {
		return nil, err
	}
	pfx := struct {
		Version  int
		AuthSafe asn1.RawValue
		MacData  p12MacData
	}{3, asn1.RawValue{FullBytes: authSafe}, *mac}
	der, err := asn1.Marshal(pfx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	return der, nil
}

// pbmac1 computes the MacData of content under password.
func pbmac1(content []byte, password string) (*p12MacData, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("keystore: salt: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, 1, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	h := hmac.New(sha256.New, key)
	h.Write(content)

	hmacAlg := pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}
	kdf, err := asn1.Marshal(pbkdf2Params{salt, 1, sha256.Size, hmacAlg})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	params, err := asn1.Marshal(pbmac1Params{
		KDF: pkix.AlgorithmIdentifier{
			Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdf},
		},
		MacAlg: hmacAlg,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKCS12, err)
	}
	alg := pkix.AlgorithmIdentifier{
		Algorithm: oidPBMAC1, Parameters: asn1.RawValue{FullBytes: params},
	}
	return &p12MacData{Mac: p12DigestInfo{alg, h.Sum(nil)}, MacSalt: salt, Iterations: 1}, nil
}

// unmarshalAll decodes DER into out and rejects trailing bytes.
func unmarshalAll(der []byte, out any) error {
	rest, err := asn1.Unmarshal(der, out)
	if err == nil && len(rest) > 0 {
		err = errors.New("trailing data")
	}
	return err
}
