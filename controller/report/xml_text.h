// Text for XML and HTML documents (the report's svg and html, the sweep's
// html): escaped, without the control characters XML 1.0 forbids, and with
// invalid UTF-8 replaced by '?' so that the document always parses.
#pragma once

#include <string>

namespace faultline {

std::string xml_text(const std::string& s);

} // namespace faultline
