package condition

import "testing"

var benchSink bool

func BenchmarkEval(b *testing.B) {
	c := MustParse(`(proxy.pathsuffix MatchesPath "/forecast/**") and (request.verb = "GET") and request.header.origin != null and response.status.code < 400`)
	r := MapResolver{
		"proxy.pathsuffix":      "/forecast/94089/daily",
		"request.verb":          "GET",
		"request.header.origin": "https://example.com",
		"response.status.code":  200,
	}
	b.ReportAllocs()
	for b.Loop() {
		benchSink = c.Eval(r)
	}
	if !benchSink {
		b.Fatal("condition should be true")
	}
}

func BenchmarkEvalRegex(b *testing.B) {
	c := MustParse(`request.queryparam.w ~~ "[0-9]+" or request.header.x Matches "abc*xyz"`)
	r := MapResolver{"request.queryparam.w": "2502265x", "request.header.x": "abc-123-xyz"}
	b.ReportAllocs()
	for b.Loop() {
		benchSink = c.Eval(r)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Parse(`(proxy.pathsuffix MatchesPath "/forecast/**") and (request.verb = "GET")`)
	}
}
