module github.com/modelroute/modelroute

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/sashabaranov/go-openai v1.43.0
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/sync v0.24.0
)
