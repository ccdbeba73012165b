package server

import (
	"context"
	"errors"
)

func (a *App) startWebhookReceiver(ctx context.Context) (func(), error) {
	return nil, errors.New("the webhook receiver is not built yet")
}
