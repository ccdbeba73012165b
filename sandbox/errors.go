package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// fieldError is one item of a FastAPI 422 body: {"loc":[...],"msg":"...","type":"..."}.
type fieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// apiError is an error response. Status 422 is written in FastAPI's validation shape
// {"detail":[fieldError...]}; every other status uses
// {"detail":"msg","error":{"message","code","type"}}.
type apiError struct {
	status     int
	code       string
	typ        string
	msg        string
	details    []fieldError
	retryAfter time.Duration
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.msg) }

// retryAfterHeader renders retryAfter as whole seconds, rounded up.
func (e *apiError) retryAfterHeader() string {
	return strconv.Itoa(int((e.retryAfter + time.Second - 1) / time.Second))
}

// errorDefaults gives the code and type used for a status when a handler does not name one.
func errorDefaults(status int) (code, typ string) {
	switch status {
	case http.StatusBadRequest:
		return "BAD_REQUEST", "invalid_request_error"
	case http.StatusUnauthorized:
		return "UNAUTHORIZED", "authentication_error"
	case http.StatusPaymentRequired:
		return "INSUFFICIENT_BALANCE", "billing_error"
	case http.StatusForbidden:
		return "FORBIDDEN", "permission_error"
	case http.StatusNotFound:
		return "NOT_FOUND", "not_found"
	case http.StatusMethodNotAllowed:
		return "METHOD_NOT_ALLOWED", "invalid_request_error"
	case http.StatusConflict:
		return "CONFLICT", "conflict"
	case http.StatusUnprocessableEntity:
		return "VALIDATION_ERROR", "validation_error"
	case http.StatusTooManyRequests:
		return "RATE_LIMIT_EXCEEDED", "rate_limit_error"
	default:
		if status >= 500 {
			return "INTERNAL_ERROR", "api_error"
		}
		return "ERROR", "api_error"
	}
}

func newError(status int, code, msg string) *apiError {
	dc, typ := errorDefaults(status)
	if code == "" {
		code = dc
	}
	return &apiError{status: status, code: code, typ: typ, msg: msg}
}

func badRequest(msg string) *apiError { return newError(http.StatusBadRequest, "", msg) }

func notFound(what, id string) *apiError {
	code := ""
	if what == "Phone number" {
		code = "PHONE_NUMBER_NOT_FOUND"
	}
	return newError(http.StatusNotFound, code, fmt.Sprintf("%s %s not found", what, id))
}

func conflict(code, msg string) *apiError { return newError(http.StatusConflict, code, msg) }

// validation builds a 422 with the given field errors.
func validation(errs ...fieldError) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, code: "VALIDATION_ERROR",
		typ: "validation_error", msg: "Request validation failed", details: errs}
}

// valueError is a model-level 422 such as pydantic's model_validator produces.
func valueError(loc []any, msg string) *apiError {
	return validation(fieldError{Loc: loc, Msg: "Value error, " + msg, Type: "value_error"})
}

type errorBody struct {
	Detail string        `json:"detail"`
	Error  errorEnvelope `json:"error"`
}

type errorEnvelope struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Type    string `json:"type"`
}

type validationBody struct {
	Detail []fieldError `json:"detail"`
}

// writeError writes e in the shape that matches its status.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", e.retryAfterHeader())
	}
	if e.status == http.StatusUnprocessableEntity {
		details := e.details
		if len(details) == 0 {
			details = []fieldError{{Loc: []any{"body"}, Msg: e.msg, Type: "value_error"}}
		}
		writeJSON(w, e.status, validationBody{Detail: details})
		return
	}
	writeJSON(w, e.status, errorBody{Detail: e.msg, Error: errorEnvelope{Message: e.msg, Code: e.code, Type: e.typ}})
}

// writeJSON writes v as the JSON body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"detail":"internal error: response could not be encoded","error":{"message":"internal error","code":"INTERNAL_ERROR","type":"api_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
