package reports_test

import (
	"context"

	"google.golang.org/grpc"

	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// lazyIdeas is an idea client bound after the server it calls has started.
type lazyIdeas struct{ c *ideav1.IdeaServiceClient }

func (l lazyIdeas) GetIdea(ctx context.Context, in *ideav1.GetIdeaRequest, opts ...grpc.CallOption) (*ideav1.Idea, error) {
	return (*l.c).GetIdea(ctx, in, opts...)
}

func (l lazyIdeas) ListIdeaHistory(ctx context.Context, in *ideav1.ListIdeaHistoryRequest, opts ...grpc.CallOption) (*ideav1.ListIdeaHistoryResponse, error) {
	return (*l.c).ListIdeaHistory(ctx, in, opts...)
}
