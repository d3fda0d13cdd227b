package atende

import "testing"

func TestValidDomain(t *testing.T) {
	for s, want := range map[string]bool{
		"acme.sip.example.com": true, "a.b": true, "acme": false, "192.0.2.1": false, "-a.b": false,
		"a_b.example": false, "ACME.example": false, "a..b": false, "": false,
	} {
		if got := ValidDomain(s); got != want {
			t.Errorf("ValidDomain(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestTrunkValidateFillsDefaultsAndNormalises(t *testing.T) {
	tr := Trunk{Name: " Carrier ", Mode: TrunkRegister, Host: "SIP.Carrier.Example", Transport: "tls", Username: "acme", DefaultCountry: "br", CallerID: "(11) 3000-0001"}
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
	if tr.Name != "Carrier" || tr.Host != "sip.carrier.example" || tr.Port != 5061 || tr.Expiry != 3600 || tr.DefaultCountry != "BR" || tr.CallerID != "+551130000001" {
		t.Fatalf("validated %+v", tr)
	}
	ip := Trunk{Name: "x", Mode: TrunkIP, AllowedCIDRs: []string{"203.0.113.7", "198.51.100.9/24", "2001:db8::1"}, DefaultCountry: "ES"}
	if err := ip.Validate(); err != nil {
		t.Fatal(err)
	}
	if ip.AllowedCIDRs[0] != "203.0.113.7/32" || ip.AllowedCIDRs[1] != "198.51.100.0/24" || ip.AllowedCIDRs[2] != "2001:db8::1/128" {
		t.Fatalf("cidrs %v", ip.AllowedCIDRs)
	}
	for name, bad := range map[string]Trunk{
		"ip trunk with a host":      {Name: "x", Mode: TrunkIP, AllowedCIDRs: []string{"10.0.0.1"}, Host: "h.example", DefaultCountry: "ES"},
		"register trunk with cidrs": {Name: "x", Mode: TrunkRegister, Host: "h.example", Username: "u", AllowedCIDRs: []string{"10.0.0.1"}, DefaultCountry: "ES"},
		"port out of range":         {Name: "x", Mode: TrunkRegister, Host: "h.example", Username: "u", Port: 70000, DefaultCountry: "ES"},
		"no name":                   {Mode: TrunkIP, AllowedCIDRs: []string{"10.0.0.1"}, DefaultCountry: "ES"},
		"username with a space":     {Name: "x", Mode: TrunkRegister, Host: "h.example", Username: "a b", DefaultCountry: "ES"},
		"domain that is not a name": {Name: "x", Mode: TrunkRegister, Host: "h.example", Domain: "a b", Username: "u", DefaultCountry: "ES"},
		"too many source addresses": {Name: "x", Mode: TrunkIP, AllowedCIDRs: make([]string, 51), DefaultCountry: "ES"},
		"unknown country":           {Name: "x", Mode: TrunkIP, AllowedCIDRs: []string{"10.0.0.1"}, DefaultCountry: "ZZ"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDIDValidate(t *testing.T) {
	d := DID{Number: "91 000 00 01", TargetKind: DIDToQueue, TargetID: NewID()}
	if err := d.Validate("ES"); err != nil || d.Number != "+34910000001" {
		t.Fatalf("%+v %v", d, err)
	}
	for name, bad := range map[string]DID{
		"not a number": {Number: "call me", TargetKind: DIDToFlow, TargetID: NewID()},
		"bad kind":     {Number: "+34910000001", TargetKind: "user", TargetID: NewID()},
		"bad id":       {Number: "+34910000001", TargetKind: DIDToFlow, TargetID: "x"},
	} {
		if err := bad.Validate("ES"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
