package store

import (
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"
)

// FieldType is the input a custom note field uses.
type FieldType string

const (
	FieldText     FieldType = "text"
	FieldNumber   FieldType = "number"
	FieldSelect   FieldType = "select"
	FieldCheckbox FieldType = "checkbox"
	FieldTextarea FieldType = "textarea"
)

// CustomField is an admin-defined note field. Definitions are plaintext (the
// browser needs them to draw the form); every value is inside the note's
// envelope.
type CustomField struct {
	ID       string    `json:"id"`
	Label    string    `json:"label"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required,omitempty"`
	Options  []string  `json:"options,omitempty"`
	// Min and Max bound a number field's value.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// MinLength and MaxLength bound a text or textarea value, in characters
	// (0: no bound).
	MinLength int `json:"minLength,omitempty"`
	MaxLength int `json:"maxLength,omitempty"`
}

const (
	MaxCustomFields = 20
	maxFieldOptions = 50
	maxLabelRunes   = 100
	maxValueLength  = 20000
)

var fieldIDRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

func validLabel(s string) bool {
	n := utf8.RuneCountInString(s)
	return utf8.ValidString(s) && n >= 1 && n <= maxLabelRunes
}

// ValidateCustomFields checks a whole ordered list.
func ValidateCustomFields(fields []CustomField) error {
	if len(fields) > MaxCustomFields {
		return fmt.Errorf("%d custom fields: at most %d", len(fields), MaxCustomFields)
	}
	var errs []error
	ids := map[string]bool{}
	for i, f := range fields {
		where := fmt.Sprintf("field %d (%q)", i+1, truncate(f.ID, 40))
		if !fieldIDRE.MatchString(f.ID) {
			errs = append(errs, fmt.Errorf("%s: id must be lowercase letters, digits and _, starting with a letter, at most 32", where))
		}
		if ids[f.ID] {
			errs = append(errs, fmt.Errorf("%s: id used twice", where))
		}
		ids[f.ID] = true
		if !validLabel(f.Label) {
			errs = append(errs, fmt.Errorf("%s: label must be 1 to %d characters", where, maxLabelRunes))
		}
		if f.Type != FieldNumber && (f.Min != nil || f.Max != nil) {
			errs = append(errs, fmt.Errorf("%s: only number fields have min and max", where))
		}
		if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
			errs = append(errs, fmt.Errorf("%s: min is above max", where))
		}
		if f.Type != FieldText && f.Type != FieldTextarea && (f.MinLength != 0 || f.MaxLength != 0) {
			errs = append(errs, fmt.Errorf("%s: only text and textarea fields have length limits", where))
		}
		if f.MinLength < 0 || f.MaxLength < 0 || f.MinLength > maxValueLength || f.MaxLength > maxValueLength ||
			(f.MaxLength != 0 && f.MinLength > f.MaxLength) {
			errs = append(errs, fmt.Errorf("%s: length limits must be 0 to %d with minLength at most maxLength", where, maxValueLength))
		}
		switch f.Type {
		case FieldText, FieldNumber, FieldCheckbox, FieldTextarea:
			if len(f.Options) != 0 {
				errs = append(errs, fmt.Errorf("%s: only select fields have options", where))
			}
		case FieldSelect:
			if len(f.Options) == 0 || len(f.Options) > maxFieldOptions {
				errs = append(errs, fmt.Errorf("%s: a select needs 1 to %d options", where, maxFieldOptions))
			}
			seen := map[string]bool{}
			for _, o := range f.Options {
				if !validLabel(o) || seen[o] {
					errs = append(errs, fmt.Errorf("%s: option %q is empty, too long or repeated", where, truncate(o, 40)))
				}
				seen[o] = true
			}
		default:
			errs = append(errs, fmt.Errorf("%s: type %q: want text, number, select, checkbox or textarea", where, truncate(string(f.Type), 20)))
		}
	}
	return errors.Join(errs...)
}

type customFieldList struct {
	Fields []CustomField `json:"fields"`
}

// CustomFields returns the ordered field definitions.
func (tx *Tx) CustomFields() ([]CustomField, error) {
	var l customFieldList
	err := tx.getRecord(bucketMeta, keyFields, &l)
	if errors.Is(err, ErrNotFound) {
		return []CustomField{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: custom fields: %w", err)
	}
	return l.Fields, nil
}

// SetCustomFields replaces the whole ordered list.
func (tx *Tx) SetCustomFields(fields []CustomField) error {
	if err := ValidateCustomFields(fields); err != nil {
		return fmt.Errorf("store: custom fields: %w: %w", ErrInvalid, err)
	}
	return tx.putRecord(bucketMeta, keyFields, &customFieldList{Fields: fields})
}
