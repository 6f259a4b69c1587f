module github.com/alog-dev/alog/bindings/go

go 1.24
