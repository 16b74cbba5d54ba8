// Package proto is where the project's own protocol definitions and their
// generated Go code will live. It holds no .proto file yet: Apigee Connect
// uses Google's published google.cloud.apigeeconnect.v1 types directly, and
// the first private protocol (the message processor → UDCA record stream)
// comes with the analytics work.
package proto
