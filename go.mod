module github.com/nsqgo/nsq

go 1.26

require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/golang/snappy v1.0.0 // indirect
	github.com/julienschmidt/httprouter v1.3.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/nsqio/go-nsq v1.1.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
)
