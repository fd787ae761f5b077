package web

import (
	"bytes"
	"io"
	"mime/multipart"

	"huimin/internal/apperr"
)

// FilePart returns the content and Content-Type of the first file part of a
// multipart/form-data body (a part with a file name, or named "file"): how
// a browser or Postman uploads a file. No file part is 422 naming file; a
// malformed body is 400.
func FilePart(body []byte, boundary string) ([]byte, string, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, "", apperr.Invalid("file", "is required: the form has no file part")
		}
		if err != nil {
			return nil, "", apperr.New(apperr.ErrBadRequest, "malformed multipart/form-data body: %v", err)
		}
		if p.FileName() == "" && p.FormName() != "file" {
			continue
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, "", apperr.New(apperr.ErrBadRequest, "malformed multipart/form-data body: %v", err)
		}
		return data, p.Header.Get("Content-Type"), nil
	}
}
