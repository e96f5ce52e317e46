module github.com/nsqgo/nsq

go 1.26

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/golang/snappy v1.0.0
	github.com/julienschmidt/httprouter v1.3.0
	github.com/klauspost/compress v1.20.4
	github.com/nsqio/go-nsq v1.1.0
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
