package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"

	"github.com/longhaul-go/longhaul/transport"
)

// Runner is an engine with its requests and results as JSON: the one codec that
// every strategy's server uses. EngineRunner makes one from any transport.Engine.
type Runner interface {
	// Decode parses and validates a request body and returns it re-encoded in
	// canonical form. It returns a *transport.Problem with status 400 for a body
	// that is not a valid request.
	Decode(body []byte) (json.RawMessage, error)

	// Run decodes req, runs the engine and returns its result as JSON.
	Run(ctx context.Context, req json.RawMessage, progress transport.ProgressFunc) (json.RawMessage, error)
}

// EngineRunner returns a Runner for e. Decode rejects unknown fields, trailing
// data and, when Req implements transport.Validator, requests that fail Validate.
func EngineRunner[Req, Res any](e transport.Engine[Req, Res]) Runner {
	return engineRunner[Req, Res]{engine: e}
}

type engineRunner[Req, Res any] struct {
	engine transport.Engine[Req, Res]
}

func (r engineRunner[Req, Res]) Decode(body []byte) (canonical json.RawMessage, err error) {
	// A panic in the request type's UnmarshalJSON or Validate would end the
	// goroutine of a WebSocket session, and with it the process.
	defer func() {
		if v := recover(); v != nil {
			canonical = nil
			err = transport.NewProblem(http.StatusInternalServerError, transport.CodeInternal,
				"decoding or validating the request panicked, a bug in the request type's UnmarshalJSON or Validate: %T", v)
		}
	}()

	req, err := decodeStrict[Req](body)
	if err != nil {
		return nil, err
	}

	if err := validate(&req); err != nil {
		p := transport.AsProblem(err)
		if p.Status == 0 || p.Code == transport.CodeJobFailed {
			p = transport.InvalidRequest("%s", err.Error())
		}
		return nil, p
	}

	canonical, err = json.Marshal(req)
	if err != nil {
		return nil, transport.InvalidRequest("request cannot be encoded as JSON: %v", err)
	}
	return canonical, nil
}

func (r engineRunner[Req, Res]) Run(ctx context.Context, raw json.RawMessage, progress transport.ProgressFunc) (json.RawMessage, error) {
	var req Req
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("stored request cannot be decoded: %w", err)
	}
	if progress == nil {
		progress = func(transport.Progress) {}
	}

	res, err := r.engine.Run(ctx, req, progress)
	if err != nil {
		return nil, err
	}

	out, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("result cannot be encoded as JSON: %w", err)
	}
	return out, nil
}

func decodeStrict[T any](body []byte) (T, error) {
	var v T
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return v, transport.InvalidRequest("request body is empty: send the request as a JSON object")
	}
	if bytes.Equal(trimmed, []byte("null")) {
		return v, transport.InvalidRequest("request body is JSON null: send the request as a JSON object")
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, transport.InvalidRequest("request body is not a valid request: %s", describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return v, transport.InvalidRequest("request body has data after the JSON value: send exactly one JSON object")
	}
	return v, nil
}

func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return fmt.Sprintf("the body is a JSON %s, but the request must be a JSON object", typeErr.Value)
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q must be of JSON type %s, got JSON %s", typeErr.Field, jsonKind(typeErr.Type.Kind()), typeErr.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "JSON ends early: the body was cut or is incomplete"
	}
	return err.Error()
}

func validate[T any](v *T) error {
	if val, ok := any(*v).(transport.Validator); ok {
		return val.Validate()
	}
	if val, ok := any(v).(transport.Validator); ok {
		return val.Validate()
	}
	return nil
}

// jsonKind names the JSON type that a Go kind decodes from.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	}
	return k.String()
}
