package cms

import "encoding/asn1"

// Object identifiers, with the RFC that assigns or profiles each.
var (
	// RFC 5652 section 4 and 6.1; RFC 5083 section 1.
	oidData                 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidEnvelopedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidDigestedData         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 5}
	oidEncryptedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidAuthenticatedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 2}
	oidCompressedData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 9}
	oidAuthEnvelopedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 23}
	oidRSAEncryption        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAOAEP              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 7}
	oidMGF1                 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidPSpecified           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 9}
	oidSHA1                 = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidOriKEM               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 13, 3}
	oidAES128CBC            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidAES128GCM            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 6}
	oidAES192GCM            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 26}
	oidAES256GCM            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 46}
	oidDESEDE3CBC           = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	oidDESCBC               = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 7}
	oidRC2CBC               = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 2}
	oidChaCha20Poly1305     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 18}
	oidAES128Wrap           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 5}
	oidAES192Wrap           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 25}
	oidAES256Wrap           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 45}
	oidPWRIKEK              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 9}
	oidDHStdSHA1KDF         = asn1.ObjectIdentifier{1, 3, 133, 16, 840, 63, 0, 2}
	oidDHCofactorSHA1KDF    = asn1.ObjectIdentifier{1, 3, 133, 16, 840, 63, 0, 3}
	oidSECGStdDHPrefix      = asn1.ObjectIdentifier{1, 3, 132, 1, 11}
	oidSECGCofactorDHPrefix = asn1.ObjectIdentifier{1, 3, 132, 1, 14}
	// RFC 9936: ML-KEM in CMS.
	oidMLKEM512  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 1}
	oidMLKEM768  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 2}
	oidMLKEM1024 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 3}
)

// namedOIDs gives stable names for algorithms that are recognised in
// listings; whether they are implemented is decided elsewhere.
var namedOIDs = []struct {
	oid  asn1.ObjectIdentifier
	name string
}{
	{oidData, "data"},
	{oidSignedData, "signed-data"},
	{oidEnvelopedData, "enveloped-data"},
	{oidDigestedData, "digested-data"},
	{oidEncryptedData, "encrypted-data"},
	{oidAuthenticatedData, "authenticated-data"},
	{oidCompressedData, "compressed-data"},
	{oidAuthEnvelopedData, "auth-enveloped-data"},
	{oidAES128Wrap, "aes128-wrap"},
	{oidAES192Wrap, "aes192-wrap"},
	{oidAES256Wrap, "aes256-wrap"},
	{oidDESEDE3CBC, "des-ede3-cbc"},
	{oidPWRIKEK, "pwri-kek"},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 6}, "des-ede3-wrap"},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 7}, "rc2-wrap"},
	{oidDHStdSHA1KDF, "ecdh-stddh-sha1kdf"},
	{oidDHCofactorSHA1KDF, "ecdh-cofactordh-sha1kdf"},
	{oidMLKEM512, "ml-kem-512"},
	{oidMLKEM768, "ml-kem-768"},
	{oidMLKEM1024, "ml-kem-1024"},
	{oidOriKEM, "ori-kem"},
	{oidDHHKDFSHA256, "ecdh-stddh-hkdf-sha256"},
	{oidDHHKDFSHA384, "ecdh-stddh-hkdf-sha384"},
	{oidDHHKDFSHA512, "ecdh-stddh-hkdf-sha512"},
	{oidHKDFSHA256, "hkdf-sha256"},
	{oidHKDFSHA384, "hkdf-sha384"},
	{oidHKDFSHA512, "hkdf-sha512"},
	{oidPBKDF2, "pbkdf2"},
	{oidX25519, "x25519"},
	{oidX448, "x448"},
	{oidZlib, "zlib"},
}

// kdfHashNames are the SEC 1 / RFC 5753 arc numbers for SHA-224..512 KDFs.
var kdfHashNames = []string{"sha224", "sha256", "sha384", "sha512"}

// oidName returns the stable name of a recognised OID, or "oid:" and its
// dotted form.
func oidName(oid asn1.ObjectIdentifier) string {
	for _, n := range namedOIDs {
		if n.oid.Equal(oid) {
			return n.name
		}
	}
	// RFC 5753 section 7.1.4: dhSinglePass-{std,cofactor}DH-shaNNNkdf-scheme.
	for _, arc := range []struct {
		prefix asn1.ObjectIdentifier
		name   string
	}{{oidSECGStdDHPrefix, "stddh"}, {oidSECGCofactorDHPrefix, "cofactordh"}} {
		n := len(arc.prefix)
		if len(oid) == n+1 && oid[:n].Equal(arc.prefix) &&
			oid[n] >= 0 && oid[n] < len(kdfHashNames) {
			return "ecdh-" + arc.name + "-" + kdfHashNames[oid[n]] + "kdf"
		}
	}
	return "oid:" + oid.String()
}
