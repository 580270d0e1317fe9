package registry

import "testing"

// TestPageURL: CHECKOUT_BASE_URL wins; empty, the page is the PublicApi's /c; with neither (a
// function of the PublicApi itself) the route takes it from the request.
func TestPageURL(t *testing.T) {
	for _, tc := range []struct{ base, public, want string }{
		{"https://pay.example.com/c/", "https://abc.execute-api.eu-west-1.amazonaws.com", "https://pay.example.com/c"},
		{"", "https://abc.execute-api.eu-west-1.amazonaws.com", "https://abc.execute-api.eu-west-1.amazonaws.com/c"},
		{"", "https://abc.execute-api.eu-west-1.amazonaws.com/", "https://abc.execute-api.eu-west-1.amazonaws.com/c"},
		{"", "", ""},
	} {
		if got, err := pageURL(tc.base, tc.public); err != nil || got != tc.want {
			t.Errorf("pageURL(%q, %q) = %q, %v; want %q", tc.base, tc.public, got, err, tc.want)
		}
	}
	if _, err := pageURL("ftp://x", ""); err == nil {
		t.Error("an ftp base URL was accepted")
	}
}
