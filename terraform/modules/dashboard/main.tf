locals {
  app   = var.metrics_namespace
  fn    = var.function_name
  stats = { period = var.period, region = var.region, view = "timeSeries" }

  # One graph: `lines` are [namespace, metric, dimension, value, {stat, label}].
  # The app's metrics are per Service (the function's name); errors also per Route.
  answers = [
    {
      title = "Time to first token (ms)"
      lines = [
        [local.app, "TimeToFirstToken", "Service", local.fn, { stat = "p50", label = "p50" }],
        [local.app, "TimeToFirstToken", "Service", local.fn, { stat = "p90", label = "p90" }],
      ]
    },
    {
      title = "Answer duration (ms)"
      lines = [
        [local.app, "AnswerDuration", "Service", local.fn, { stat = "p50", label = "p50" }],
        [local.app, "AnswerDuration", "Service", local.fn, { stat = "p90", label = "p90" }],
      ]
    },
    {
      title = "Tokens per answer"
      lines = [
        [local.app, "AnswerTokens", "Service", local.fn, { stat = "Average", label = "average" }],
        [local.app, "AnswerTokens", "Service", local.fn, { stat = "p90", label = "p90" }],
      ]
    },
    {
      title = "Answers, failures, fallbacks"
      lines = [
        [local.app, "Answers", "Service", local.fn, { stat = "Sum", label = "answers" }],
        [local.app, "AnswerFailures", "Service", local.fn, { stat = "Sum", label = "failed" }],
        [local.app, "ModelFallbacks", "Service", local.fn, { stat = "Sum", label = "fallback model" }],
      ]
    },
  ]

  http = [
    {
      title = "Requests and errors"
      lines = [
        [local.app, "Requests", "Service", local.fn, { stat = "Sum", label = "requests" }],
        [local.app, "ClientErrors", "Service", local.fn, { stat = "Sum", label = "4xx" }],
        [local.app, "ServerErrors", "Service", local.fn, { stat = "Sum", label = "5xx" }],
      ]
    },
    {
      title = "5xx by route"
      lines = [[{ id = "e1", label = "", expression = "SEARCH('{\"${local.app}\",Route,Service} MetricName=\"ServerErrors\" Service=\"${local.fn}\"', 'Sum', ${var.period})" }]]
    },
    {
      title = "4xx by route"
      lines = [[{ id = "e1", label = "", expression = "SEARCH('{\"${local.app}\",Route,Service} MetricName=\"ClientErrors\" Service=\"${local.fn}\"', 'Sum', ${var.period})" }]]
    },
    {
      title = "Database refusals, web searches"
      lines = [
        [local.app, "DatabaseRefusals", "Service", local.fn, { stat = "Sum", label = "database refusals (503)" }],
        [local.app, "WebSearches", "Service", local.fn, { stat = "Sum", label = "web searches" }],
        [local.app, "WebSearchFailures", "Service", local.fn, { stat = "Sum", label = "searches without results" }],
      ]
    },
  ]

  function = [
    {
      title = "Invocations, errors, throttles"
      lines = [
        ["AWS/Lambda", "Invocations", "FunctionName", local.fn, { stat = "Sum", label = "invocations" }],
        ["AWS/Lambda", "Errors", "FunctionName", local.fn, { stat = "Sum", label = "errors" }],
        ["AWS/Lambda", "Throttles", "FunctionName", local.fn, { stat = "Sum", label = "throttles" }],
      ]
    },
    {
      title = "Invocation duration (ms)"
      lines = [
        ["AWS/Lambda", "Duration", "FunctionName", local.fn, { stat = "p50", label = "p50" }],
        ["AWS/Lambda", "Duration", "FunctionName", local.fn, { stat = "p90", label = "p90" }],
        ["AWS/Lambda", "Duration", "FunctionName", local.fn, { stat = "Maximum", label = "maximum" }],
      ]
    },
    {
      title = "Concurrent executions"
      lines = [
        ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", local.fn, { stat = "Maximum", label = "maximum" }],
      ]
    },
  ]

  database = [
    {
      title = "Database connections"
      lines = [
        ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", var.db_instance_identifier, { stat = "Maximum", label = "maximum" }],
      ]
    },
    {
      title = "Database CPU (%)"
      lines = [
        ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.db_instance_identifier, { stat = "Average", label = "average" }],
      ]
    },
    {
      title = "Database freeable memory (bytes)"
      lines = [
        ["AWS/RDS", "FreeableMemory", "DBInstanceIdentifier", var.db_instance_identifier, { stat = "Minimum", label = "minimum" }],
      ]
    },
  ]

  # Pinned sessions are client connections the proxy cannot multiplex: the
  # number to watch when connections climb.
  proxy = [
    for proxy in compact([var.db_proxy_name]) : {
      title = "RDS Proxy connections"
      lines = [
        ["AWS/RDS", "ClientConnections", "ProxyName", proxy, { stat = "Maximum", label = "from clients" }],
        ["AWS/RDS", "DatabaseConnections", "ProxyName", proxy, { stat = "Maximum", label = "to the database" }],
        ["AWS/RDS", "DatabaseConnectionsCurrentlySessionPinned", "ProxyName", proxy, { stat = "Maximum", label = "pinned" }],
      ]
    }
  ]

  graphs = [
    for row in [local.answers, local.http, local.function, concat(local.database, local.proxy)] : [
      for graph in row : {
        type       = "metric"
        properties = merge(local.stats, { title = graph.title, metrics = graph.lines })
      }
    ]
  ]

  failures_table = {
    type = "log"
    properties = {
      title  = "Failed answers by reason"
      region = var.region
      view   = "table"
      query  = "SOURCE '${var.log_group_name}' | filter AnswerFailures > 0 | stats count(*) as answers by error | sort answers desc"
    }
  }

  alarms = [
    for arns in [var.alarm_arns] : [{
      type       = "alarm"
      properties = { title = "Alarms", alarms = arns }
    }] if length(arns) > 0
  ]

  rows = concat(local.alarms, local.graphs, [[local.failures_table]])

  # Rows stacked 6 units high; a row's widgets share the 24 units of width.
  widgets = flatten([
    for r, row in local.rows : [
      for c, widget in row : merge(widget, {
        x      = c * floor(24 / length(row))
        y      = r * 6
        width  = floor(24 / length(row))
        height = 6
      })
    ]
  ])
}

# Dashboards take no tags (the API has none for them).
resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.widgets })
}
