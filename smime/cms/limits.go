package cms

// Limits bounds the work and memory spent on one message. A zero field
// means the DefaultLimits value for that field.
type Limits struct {
	// MaxInputBytes is the largest BER/DER input accepted (default 128 MiB).
	MaxInputBytes int
	// MaxNestingDepth is the deepest ASN.1 nesting accepted, counted in
	// constructed elements (default 64). OpenSSL's messages need 6 to 9,
	// 11 with an ECDH co-recipient; certificates in originatorInfo add
	// about 10, so values below 24 reject real mail. This is not the
	// number of nested S/MIME layers (config smime.max_nesting_depth).
	MaxNestingDepth int
	// MaxRecipients is the most recipient entries parsed (default 1024).
	MaxRecipients int
	// MaxDecompressedBytes bounds the output of decompressing RFC 3274
	// CompressedData (default 128 MiB).
	MaxDecompressedBytes int
	// MaxPBKDF2Iterations bounds the iteration count a password recipient
	// (RFC 3211) may ask for (default 1,048,576; OpenSSL writes 2048).
	MaxPBKDF2Iterations int
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		MaxInputBytes:        128 << 20,
		MaxNestingDepth:      64,
		MaxRecipients:        1024,
		MaxDecompressedBytes: 128 << 20,
		MaxPBKDF2Iterations:  1 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxInputBytes <= 0 {
		l.MaxInputBytes = d.MaxInputBytes
	}
	if l.MaxNestingDepth <= 0 {
		l.MaxNestingDepth = d.MaxNestingDepth
	}
	if l.MaxRecipients <= 0 {
		l.MaxRecipients = d.MaxRecipients
	}
	if l.MaxDecompressedBytes <= 0 {
		l.MaxDecompressedBytes = d.MaxDecompressedBytes
	}
	if l.MaxPBKDF2Iterations <= 0 {
		l.MaxPBKDF2Iterations = d.MaxPBKDF2Iterations
	}
	return l
}
