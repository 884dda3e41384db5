// The report's output formats (docs/metrics.md, "Formats"): table, json, csv, svg, html.
#pragma once

#include "controller/report/metrics.h"

#include <string>

namespace faultline {

enum class ReportFormat { Table, Json, Csv, Svg, Html };

// false for an unknown name.
bool parse_report_format(const std::string& name, ReportFormat& out);

std::string format_report(const Report& r, ReportFormat f);

} // namespace faultline
