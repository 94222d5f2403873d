// Package provider is how modelroute talks to LLM APIs.
//
// A Provider is one upstream endpoint (a base URL and its credentials); the
// router sets each request's Model to the upstream model of the deployment it
// picked. Every error a Provider returns can be matched with errors.As to an
// *Error whose Kind drives the router's retries, cooldowns and fallbacks.
//
// Test doubles live in package providertest.
package provider
