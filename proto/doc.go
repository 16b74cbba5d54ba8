// Package proto holds the project's own protocol definitions and their
// generated Go code. Apigee Connect uses Google's published
// google.cloud.apigeeconnect.v1 types directly; protocols private to the
// runtime plane (such as the message processor → UDCA record stream) are
// defined here as they are built.
package proto
