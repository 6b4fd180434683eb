package cms

import (
	"encoding/asn1"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Tags of the RecipientInfo choices (RFC 5652 section 6.2).
var (
	tagKARI  = cbasn1.Tag(1).ContextSpecific().Constructed()
	tagKEKRI = cbasn1.Tag(2).ContextSpecific().Constructed()
	tagPWRI  = cbasn1.Tag(3).ContextSpecific().Constructed()
	tagORI   = cbasn1.Tag(4).ContextSpecific().Constructed()
	tagSKI   = cbasn1.Tag(0).ContextSpecific()
)

func readAlgorithm(s *cryptobyte.String) (algorithm, bool) {
	var a algorithm
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&a.oid) {
		return a, false
	}
	if !seq.Empty() {
		var p cryptobyte.String
		if !seq.ReadAnyASN1Element(&p, nil) || !seq.Empty() {
			return a, false
		}
		a.params = p
	}
	return a, true
}

// parseRecipientInfos reads the recipientInfos SET. An entry that does not
// parse is counted, not fatal: the caller's own entry may be fine. Only
// the count is checked before parsing, so a huge SET fails fast.
func parseRecipientInfos(set []byte, max int) ([]Recipient, int, error) {
	var out []Recipient
	unparsed, count := 0, 0
	for len(set) > 0 {
		h, err := readHeader(set)
		if err != nil {
			return nil, 0, err
		}
		el := cryptobyte.String(set[:h.size+h.length])
		set = set[h.size+h.length:]
		if count++; count > max {
			return nil, 0, overLimit("more than %d recipients", max)
		}
		got, ok := parseRecipientInfo(el, max-len(out))
		if !ok {
			unparsed++
			continue
		}
		if len(out)+len(got) > max {
			return nil, 0, overLimit("more than %d recipients", max)
		}
		out = append(out, got...)
	}
	return out, unparsed, nil
}

// parseRecipientInfo reads one RecipientInfo; room is how many more
// recipients the limit allows, so that one key agreement entry with a
// huge list of keys stops early (returning room+1 entries).
func parseRecipientInfo(el cryptobyte.String, room int) ([]Recipient, bool) {
	var body cryptobyte.String
	var tag cbasn1.Tag
	if !el.ReadAnyASN1(&body, &tag) {
		return nil, false
	}
	var r Recipient
	var ok bool
	switch tag {
	case cbasn1.SEQUENCE:
		r, ok = parseKeyTrans(body)
	case tagKARI:
		return parseKeyAgree(body, room)
	case tagKEKRI:
		r, ok = parseKEK(body)
	case tagPWRI:
		r, ok = parsePassword(body)
	case tagORI:
		r, ok = parseOther(body)
	}
	if !ok {
		return nil, false
	}
	return []Recipient{r}, true
}

// readRecipientID reads a RecipientIdentifier (RFC 5652 section 6.2.1):
// IssuerAndSerialNumber or [0] SubjectKeyIdentifier.
func readRecipientID(s *cryptobyte.String) (RecipientID, bool) {
	var id RecipientID
	if s.PeekASN1Tag(tagSKI) {
		var ski []byte
		ok := s.ReadASN1Bytes(&ski, tagSKI)
		id.SubjectKeyID = nonNil(ski)
		return id, ok
	}
	return readIssuerSerial(s)
}

// readIssuerSerial reads IssuerAndSerialNumber (RFC 5652 section 10.2.4).
func readIssuerSerial(s *cryptobyte.String) (RecipientID, bool) {
	var id RecipientID
	var seq, issuer cryptobyte.String
	id.Serial = new(big.Int)
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) ||
		!seq.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
		!seq.ReadASN1Integer(id.Serial) || !seq.Empty() {
		return id, false
	}
	id.IssuerDER = issuer
	return id, true
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// parseKeyTrans reads KeyTransRecipientInfo (RFC 5652 section 6.2.1).
func parseKeyTrans(s cryptobyte.String) (Recipient, bool) {
	r := Recipient{Type: KeyTrans}
	var version int64
	var ok bool
	if !s.ReadASN1Integer(&version) {
		return r, false
	}
	if r.ID, ok = readRecipientID(&s); !ok {
		return r, false
	}
	if r.keyAlg, ok = readAlgorithm(&s); !ok {
		return r, false
	}
	if !s.ReadASN1Bytes(&r.encryptedKey, cbasn1.OCTET_STRING) || !s.Empty() {
		return r, false
	}
	r.KeyAlgorithm, ok = keyTransName(r.keyAlg)
	return r, ok
}

// keyAgreeDetail keeps the parts of a KeyAgreeRecipientInfo that an ECDH
// unwrapper needs besides the recipient's own encrypted key.
type keyAgreeDetail struct {
	originator []byte // OriginatorIdentifierOrKey, DER
	ukm        []byte // UserKeyingMaterial octets, nil when absent
}

// parseKeyAgree reads KeyAgreeRecipientInfo (RFC 5652 section 6.2.2),
// one Recipient per RecipientEncryptedKey.
func parseKeyAgree(s cryptobyte.String, room int) ([]Recipient, bool) {
	var version int64
	var orig, ukm, keys cryptobyte.String
	var hasUKM bool
	d := &keyAgreeDetail{}
	if !s.ReadASN1Integer(&version) ||
		!s.ReadASN1(&orig, cbasn1.Tag(0).ContextSpecific().Constructed()) ||
		!s.ReadOptionalASN1(&ukm, &hasUKM, cbasn1.Tag(1).ContextSpecific().Constructed()) {
		return nil, false
	}
	d.originator = orig
	if hasUKM && (!ukm.ReadASN1Bytes(&d.ukm, cbasn1.OCTET_STRING) || !ukm.Empty()) {
		return nil, false
	}
	if hasUKM {
		d.ukm = nonNil(d.ukm)
	}
	alg, ok := readAlgorithm(&s)
	if !ok || !s.ReadASN1(&keys, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, false
	}
	name := keyAgreeName(alg)
	var out []Recipient
	for !keys.Empty() && len(out) <= room {
		r, ok := readEncryptedKey(&keys)
		if !ok {
			return nil, false
		}
		r.KeyAlgorithm, r.keyAlg, r.detail = name, alg, d
		out = append(out, r)
	}
	return out, len(out) > 0
}

// keyAgreeName joins the agreement scheme and the key wrap named in its
// parameters (RFC 5753 section 3.1.1).
func keyAgreeName(alg algorithm) string {
	name := oidName(alg.oid)
	s := cryptobyte.String(alg.params)
	if wrap, ok := readAlgorithm(&s); ok {
		name += "-" + oidName(wrap.oid)
	}
	return name
}

// readEncryptedKey reads RecipientEncryptedKey: a KeyAgreeRecipientIdentifier
// (issuerAndSerialNumber or [0] RecipientKeyIdentifier) and the key.
func readEncryptedKey(s *cryptobyte.String) (Recipient, bool) {
	r := Recipient{Type: KeyAgree}
	var seq, rkey cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return r, false
	}
	var ok bool
	if seq.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific().Constructed()) {
		var ski []byte
		ok = seq.ReadASN1(&rkey, cbasn1.Tag(0).ContextSpecific().Constructed()) &&
			rkey.ReadASN1Bytes(&ski, cbasn1.OCTET_STRING)
		r.ID.SubjectKeyID = nonNil(ski)
	} else {
		r.ID, ok = readIssuerSerial(&seq)
	}
	return r, ok && seq.ReadASN1Bytes(&r.encryptedKey, cbasn1.OCTET_STRING) && seq.Empty()
}

// parseKEK reads KEKRecipientInfo (RFC 5652 section 6.2.3).
func parseKEK(s cryptobyte.String) (Recipient, bool) {
	r := Recipient{Type: KEK}
	var version int64
	var kekid cryptobyte.String
	var id []byte
	if !s.ReadASN1Integer(&version) || !s.ReadASN1(&kekid, cbasn1.SEQUENCE) ||
		!kekid.ReadASN1Bytes(&id, cbasn1.OCTET_STRING) {
		return r, false
	}
	r.ID.KEKID = nonNil(id)
	var ok bool
	if r.keyAlg, ok = readAlgorithm(&s); !ok {
		return r, false
	}
	r.KeyAlgorithm = oidName(r.keyAlg.oid)
	return r, s.ReadASN1Bytes(&r.encryptedKey, cbasn1.OCTET_STRING) && s.Empty()
}

// parsePassword reads PasswordRecipientInfo (RFC 5652 section 6.2.4); the
// key derivation algorithm is kept for a later unwrapper.
func parsePassword(s cryptobyte.String) (Recipient, bool) {
	r := Recipient{Type: Password}
	var version int64
	var kdf cryptobyte.String
	var hasKDF, ok bool
	if !s.ReadASN1Integer(&version) ||
		!s.ReadOptionalASN1(&kdf, &hasKDF, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return r, false
	}
	if hasKDF {
		r.detail = []byte(kdf)
	}
	if r.keyAlg, ok = readAlgorithm(&s); !ok {
		return r, false
	}
	r.KeyAlgorithm = oidName(r.keyAlg.oid)
	return r, s.ReadASN1Bytes(&r.encryptedKey, cbasn1.OCTET_STRING) && s.Empty()
}

// parseOther reads OtherRecipientInfo (RFC 5652 section 6.2.5) and, for
// id-ori-kem, the KEMRecipientInfo in it (RFC 9629 section 3).
func parseOther(s cryptobyte.String) (Recipient, bool) {
	r := Recipient{Type: OtherRecipient}
	var oriType asn1.ObjectIdentifier
	if !s.ReadASN1ObjectIdentifier(&oriType) {
		return r, false
	}
	r.KeyAlgorithm = oidName(oriType)
	if !oriType.Equal(oidOriKEM) {
		return r, true
	}
	var kemri cryptobyte.String
	var version int64
	if !s.ReadASN1(&kemri, cbasn1.SEQUENCE) || !s.Empty() || !kemri.ReadASN1Integer(&version) {
		return r, false
	}
	return readKEMRecipient(kemri)
}
