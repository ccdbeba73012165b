package apiclient

import (
	"context"
	"errors"
	"net/url"
	"strconv"
)

// GetUsage returns the number quota and the message, SMS segment, call and
// webhook counts (GET /v1/usage; the legacy plan block only if sent).
func (c *Client) GetUsage(ctx context.Context) (*Usage, error) {
	return getJSON[Usage](ctx, c, "/v1/usage", nil)
}

// GetDailyUsage returns per-day counts (GET /v1/usage/daily?days=; 0 =
// server default 30, up to 365).
func (c *Client) GetDailyUsage(ctx context.Context, days int) (*DailyUsage, error) {
	q := url.Values{}
	if days > 0 {
		q.Set("days", strconv.Itoa(days))
	}
	return getJSON[DailyUsage](ctx, c, "/v1/usage/daily", q)
}

// GetMonthlyUsage returns per-month counts (GET /v1/usage/monthly?months=;
// 0 = server default 6).
func (c *Client) GetMonthlyUsage(ctx context.Context, months int) (*MonthlyUsage, error) {
	q := url.Values{}
	if months > 0 {
		q.Set("months", strconv.Itoa(months))
	}
	return getJSON[MonthlyUsage](ctx, c, "/v1/usage/monthly", q)
}

// GetUsageByNumber returns counts per number (GET /v1/usage/by-number).
func (c *Client) GetUsageByNumber(ctx context.Context) ([]NumberUsage, error) {
	out, err := getJSON[dataList[NumberUsage]](ctx, c, "/v1/usage/by-number", nil)
	if err != nil {
		return nil, err
	}
	return out.Data, nil
}

// GetUsageByAgent returns counts per agent for a period
// (GET /v1/usage/by-agent?period=&tz=); Period is required.
func (c *Client) GetUsageByAgent(ctx context.Context, p UsageByAgentParams) (*UsageByAgent, error) {
	switch p.Period {
	case PeriodWeek, PeriodMonth, PeriodYear:
	default:
		return nil, errors.New("apiclient: usage by agent: period must be week, month or year")
	}
	q := url.Values{"period": {string(p.Period)}}
	if p.TZ != "" {
		q.Set("tz", p.TZ)
	}
	return getJSON[UsageByAgent](ctx, c, "/v1/usage/by-agent", q)
}

// RegistrationStatus returns the A2P 10DLC campaign status
// (GET /v1/register/status, snake_case).
func (c *Client) RegistrationStatus(ctx context.Context) (*Registration, error) {
	return getJSON[Registration](ctx, c, "/v1/register/status", nil)
}
