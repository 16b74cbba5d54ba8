module github.com/hybrid-emulator/hybrid/proto

go 1.26.0
