package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// requestTimeLayout is API Gateway's requestContext.time format.
const requestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// newRequestID returns an id shaped like API Gateway's (e.g. "JjF6WgFeoAMESxw="): 10 random bytes in
// base64, which also makes it obvious in logs that it is not a Lambda request id (a UUID).
func newRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// newTraceID returns an X-Ray trace header value, which API Gateway adds as x-amzn-trace-id.
func newTraceID(now time.Time) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return fmt.Sprintf("Root=1-%08x-%s", now.Unix(), hex.EncodeToString(b))
}

// textMediaTypes are the content types whose bodies HTTP APIs pass as text; every other body,
// including one without a content type and application/x-www-form-urlencoded, is base64-encoded
// with isBase64Encoded true, as API Gateway does.
var textMediaTypes = map[string]bool{
	"application/json":       true,
	"application/xml":        true,
	"application/javascript": true,
}

func isTextBody(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || textMediaTypes[mt]
}

// requestInfo is what the gateway knows about an incoming request before any authorizer runs.
type requestInfo struct {
	id     string
	now    time.Time
	method string
	// path is the request's path decoded, which is what an HTTP API puts in the events' rawPath
	// and requestContext.http.path as projects that captured live events report (a %2F arrives as
	// /: honojs/hono#2156, Worklytics/psoxy#827, middleapi/standard-server#93); not checked on AWS
	// from here. Routing uses the escaped path, so an encoded slash stays inside its segment.
	path     string
	rawQuery string
	headers  map[string]string // lower-cased names, repeated headers joined with commas
	cookies  []string
	query    map[string]string
	sourceIP string
	protocol string
	body     []byte
}

func newRequestInfo(r *http.Request, id string, now time.Time, body []byte) *requestInfo {
	ri := &requestInfo{
		id:       id,
		now:      now,
		method:   r.Method,
		path:     r.URL.Path,
		rawQuery: r.URL.RawQuery,
		headers:  map[string]string{},
		protocol: r.Proto,
		body:     body,
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ri.sourceIP = host
	}
	for name, values := range r.Header {
		lname := strings.ToLower(name)
		if lname == "cookie" {
			// Payload 2.0 moves cookies out of the headers into their own list.
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ri.cookies = append(ri.cookies, c)
					}
				}
			}
			continue
		}
		ri.headers[lname] = strings.Join(values, ",")
	}
	ri.headers["host"] = r.Host
	if len(body) > 0 {
		ri.headers["content-length"] = strconv.Itoa(len(body))
	}
	// Headers API Gateway adds in front of every integration.
	ri.headers["x-amzn-trace-id"] = newTraceID(now)
	if xff := ri.headers["x-forwarded-for"]; xff != "" {
		ri.headers["x-forwarded-for"] = xff + ", " + ri.sourceIP
	} else {
		ri.headers["x-forwarded-for"] = ri.sourceIP
	}
	ri.headers["x-forwarded-proto"] = "http"
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		ri.headers["x-forwarded-port"] = port
	}
	if q, err := url.ParseQuery(r.URL.RawQuery); err == nil && len(q) > 0 {
		ri.query = map[string]string{}
		for k, vs := range q {
			ri.query[k] = strings.Join(vs, ",")
		}
	}
	return ri
}

// requestContext builds the requestContext shared by the integration and the Lambda authorizer.
func (g *Gateway) requestContext(ri *requestInfo, rt *route) events.APIGatewayV2HTTPRequestContext {
	return events.APIGatewayV2HTTPRequestContext{
		RouteKey:     rt.key,
		AccountID:    g.accountID,
		Stage:        "$default",
		RequestID:    ri.id,
		APIID:        g.apiID,
		DomainName:   ri.headers["host"],
		DomainPrefix: strings.SplitN(ri.headers["host"], ".", 2)[0],
		Time:         ri.now.UTC().Format(requestTimeLayout),
		TimeEpoch:    ri.now.UnixMilli(),
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method:    ri.method,
			Path:      ri.path,
			Protocol:  ri.protocol,
			SourceIP:  ri.sourceIP,
			UserAgent: ri.headers["user-agent"],
		},
	}
}

// integrationEvent is the payload format 2.0 event for the route's function.
func (g *Gateway) integrationEvent(ri *requestInfo, rt *route, params map[string]string, auth *events.APIGatewayV2HTTPRequestContextAuthorizerDescription) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.key,
		RawPath:               ri.path,
		RawQueryString:        ri.rawQuery,
		Cookies:               ri.cookies,
		Headers:               ri.headers,
		QueryStringParameters: ri.query,
		PathParameters:        params,
		RequestContext:        g.requestContext(ri, rt),
	}
	ev.RequestContext.Authorizer = auth
	if len(ri.body) > 0 {
		if isTextBody(ri.headers["content-type"]) && utf8.Valid(ri.body) {
			ev.Body = string(ri.body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(ri.body), true
		}
	}
	return ev
}

// marshalEvent encodes an event for an invocation. Without json.Marshal's HTML escapes: a body of
// <, > or & would otherwise grow sixfold in the event and meet Lambda's payload limit
// (MaxInvokePayload) long before API Gateway's event would.
func marshalEvent(ev any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
