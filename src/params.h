/*-------------------------------------------------------------------------
 * params.h
 *	  Declarative description of a check kind's params (jsonb), the generic
 *	  validator that enforces it, and typed accessors for runners.
 *-------------------------------------------------------------------------
 */
#ifndef SLO_PARAMS_H
#define SLO_PARAMS_H

#include "slo_guard.h"

typedef enum SloParamType
{
	SLO_PARAM_STRING,			/* non-empty JSON string */
	SLO_PARAM_NAME_ARRAY,		/* non-empty array of non-empty strings */
	SLO_PARAM_NUMBER,			/* JSON number, checked against min/max */
	SLO_PARAM_INTEGER,			/* JSON number without fraction, min/max */
	SLO_PARAM_BOOL,				/* JSON true/false */
	SLO_PARAM_INTERVAL,			/* JSON string accepted by interval_in, > 0 */
	SLO_PARAM_URL,				/* JSON string, http:// or https:// URL */
	SLO_PARAM_OBJECT,			/* JSON object of string values */
	SLO_PARAM_STRING_ARRAY,		/* array of strings (may be empty) */
	SLO_PARAM_GUARD,			/* JSON true/false or the string "block" (guards) */
	SLO_PARAM_SECRET_OBJECT		/* as OBJECT, but its values are secrets: never shown in errors */
} SloParamType;

typedef struct SloParam
{
	const char *key;
	SloParamType type;
	bool		required;
	double		min;			/* for NUMBER/INTEGER; ignored when min > max */
	double		max;
} SloParam;

/* Terminator of a kind's param table. */
#define SLO_PARAM_END {NULL, SLO_PARAM_STRING, false, 0, -1}
/* No range limit. */
#define SLO_NO_RANGE 0, -1

/*
 * Validate params against a kind's table: object shape, unknown keys, missing
 * required keys, types and ranges.  Errors are SQLSTATE 22023, name the key and
 * value, and hint at the accepted keys.
 */
extern void SloValidateParams(const char *kind, const SloParam *spec, Jsonb *params);

/*
 * Raise the standard 22023 error for a bad value of one key, with the hint
 * listing what spec accepts.  Runners and validators, which know their kind
 * by name, call SloParamError (kind.h), which finds the spec and calls this.
 */
extern void SloParamErrorSpec(const char *kind, const SloParam *spec, const char *key,
							  const char *value, const char *detail) pg_attribute_noreturn();

/* Accessors for runners and validators.  They assume validated params. */
extern const char *SloParamString(Jsonb *params, const char *key, const char *dflt);
extern bool SloParamNumber(Jsonb *params, const char *key, double *value);
extern bool SloParamBool(Jsonb *params, const char *key, bool dflt);
/* Interval param in milliseconds; returns false if absent. */
extern bool SloParamIntervalMs(Jsonb *params, const char *key, int64 *ms);
/* Array of strings; returns a palloc'd array and sets *n (0 if absent). */
extern char **SloParamStringArray(Jsonb *params, const char *key, int *n);
/* Render a jsonb value of params[key] as text (for messages); NULL if absent. */
extern char *SloParamText(Jsonb *params, const char *key);

#endif							/* SLO_PARAMS_H */
