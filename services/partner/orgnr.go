package partner

import (
	"fmt"
	"strings"
)

// normaliseOrgNumber checks a Swedish organisationsnummer and returns its ten
// digits. It accepts NNNNNNNNNN and NNNNNN-NNNN. The last digit is a Luhn
// check digit over the first nine; the third digit is at least 2, which is
// what tells an organisation number from a personal identity number (a sole
// trader's number is a person's and is personal data, so it is not taken).
func normaliseOrgNumber(s string) (string, error) {
	raw := strings.TrimSpace(s)
	digits := raw
	if len(raw) == 11 && raw[6] == '-' {
		digits = raw[:6] + raw[7:]
	}
	if len(digits) != 10 || strings.Trim(digits, "0123456789") != "" {
		return "", fmt.Errorf("%q is not an organisation number: want 10 digits, as NNNNNNNNNN or NNNNNN-NNNN", s)
	}
	if digits[2] < '2' {
		return "", fmt.Errorf("%q is not an organisation number: its third digit is below 2, as in a personal identity number", s)
	}
	if want := luhnDigit(digits[:9]); digits[9] != want {
		return "", fmt.Errorf("%q is not an organisation number: the check digit is %c, not %c (mistyped?)", s, want, digits[9])
	}
	return digits, nil
}

// luhnDigit is the Luhn check digit of a string of decimal digits, weighting
// them 2, 1, 2, … from the left (the Swedish convention for nine digits).
func luhnDigit(digits string) byte {
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[i] - '0')
		if (len(digits)-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// formatOrgNumber is the NNNNNN-NNNN form people write.
func formatOrgNumber(digits string) string {
	if len(digits) != 10 {
		return digits
	}
	return digits[:6] + "-" + digits[6:]
}
