// ORU^R01 / OML^O21 -> model. One pass over the segments with a small state machine (which
// group an NTE or OBX belongs to); every problem is recorded with its location and mapping
// carries on, so `labvault validate` reports them all and an ACK lists each in an ERR.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <unordered_map>

#include "hl7/hl7.hpp"
#include "hl7/internal/datatypes.hpp"
#include "hl7/internal/scan.hpp"
#include "hl7/internal/values.hpp"

namespace labvault::hl7 {
namespace {

using internal::is_number;
using internal::Parts;
using internal::read_range;
using internal::report_status;
using internal::to_double;
using model::ErrorCode;

constexpr std::array<std::string_view, 5> kVersions{"2.3", "2.3.1", "2.4", "2.5", "2.5.1"};
// HL7 table 0125 value types (v2.5.1, plus CWE/CNE/DTM/ID/IS seen in lab feeds).
constexpr std::array<std::string_view, 32> kValueTypes{
    "AD", "CE", "CF", "CK",  "CN",  "CP",  "CWE", "CNE", "CX", "DT", "DTM",
    "ED", "FT", "ID", "IS",  "MO",  "NM",  "PN",  "RP",  "SN", "ST", "TM",
    "TN", "TS", "TX", "XAD", "XCN", "XON", "XPN", "XTN", "NA", "MA"};
constexpr std::string_view kReportStatuses = "OISAPCRFXYZ";  // HL7 table 0123

// Segment ids are 3 bytes: compare them as one integer instead of through memcmp.
constexpr uint32_t tag(std::string_view id) {
  return id.size() == 3 ? static_cast<uint32_t>(static_cast<unsigned char>(id[0])) << 16 |
                              static_cast<uint32_t>(static_cast<unsigned char>(id[1])) << 8 |
                              static_cast<unsigned char>(id[2])
                        : 0;
}

class Mapper {
 public:
  Mapper(const Message& m, std::vector<Error>& problems) : m_(m), problems_(problems) {}

  model::LabMessage run() {
    for (size_t i = 0; i < m_.segment_count() && problems_.size() < kMaxProblems; ++i) {
      Segment seg = m_.segment(i);
      occurrence_ = count(seg.id());
      if (i == 0) {
        if (!header(seg)) return std::move(out_);  // unsupported: the rest cannot be trusted
      } else {
        segment(seg);
      }
    }
    finish();
    return std::move(out_);
  }

 private:
  enum class Context { kHeader, kPatient, kOrder, kResult, kAoe, kSpecimen };

  int count(std::string_view id) {
    // A real message has a dozen segment ids: a short linear list is fastest. A hostile one can
    // have thousands, which would make the list quadratic, so past 32 ids a hash map takes over.
    const uint32_t t = tag(id);
    if (!many_seen_.empty()) return ++many_seen_[t];
    for (auto& [name, n] : seen_)
      if (name == t) return ++n;
    if (seen_.size() < 32) {
      seen_.emplace_back(t, 1);
      return 1;
    }
    for (auto& [name, n] : seen_) many_seen_[name] = n;
    return ++many_seen_[t];
  }

  void problem(ErrorCode code, std::string message, const Segment& seg, int field = 0,
               int component = 0, int repetition = 0) {
    if (problems_.size() >= kMaxProblems) return;
    model::Location loc;
    loc.line = seg.line();
    loc.segment = std::string(seg.id());
    loc.segment_index = occurrence_;
    loc.field = field;
    loc.component = component;
    loc.repetition = repetition;
    problems_.push_back({code, std::move(message), std::move(loc)});
  }

  model::DateTime datetime(const Segment& seg, int field, int component = 1) {
    std::string_view raw = seg.field(field).repetition(1).component(component).raw();
    auto dt = model::DateTime::parse_hl7(raw);
    if (!dt) {
      problem(ErrorCode::kDataType, fmt::format("{}-{}: {}", seg.id(), field, dt.error().message),
              seg, field, component);
      return {};
    }
    return *dt;
  }

  bool header(const Segment& msh) {
    model::MessageHeader& h = out_.header;
    h.sending_application = internal::read_hd({msh.field(3)});
    h.sending_facility = internal::read_hd({msh.field(4)});
    h.receiving_application = internal::read_hd({msh.field(5)});
    h.receiving_facility = internal::read_hd({msh.field(6)});
    h.sent = datetime(msh, 7);
    // The first repetition is the one that is mapped (and written back): "~2026..." has none.
    if (h.sent.empty() && msh.field(7).repetition(1).component(1).raw().empty())
      problem(ErrorCode::kRequiredFieldMissing, "MSH-7.1 (date/time of message) is required", msh,
              7, 1);
    Piece type = msh.field(9);
    h.message_type = type.component(1).str();
    h.trigger_event = type.component(2).str();
    h.control_id = msh.field(10).str();
    if (h.control_id.empty())
      problem(ErrorCode::kRequiredFieldMissing, "MSH-10 message control id is required", msh, 10);
    h.processing_id = msh.field(11).component(1).str();
    h.version = msh.field(12).component(1).str();

    bool supported = true;
    // Components, not fields, are checked: "^R01" is a non-empty MSH-9 with no message type.
    if (h.version.empty()) {
      problem(ErrorCode::kRequiredFieldMissing, "MSH-12.1 version id is required", msh, 12, 1);
      supported = false;
    } else if (!is_supported_version(h.version)) {
      problem(ErrorCode::kUnsupportedVersion,
              "MSH-12 version is not supported (labvault accepts 2.3, 2.3.1, 2.4, 2.5, 2.5.1)", msh,
              12);
      supported = false;
    }
    if (h.processing_id.empty()) {
      problem(ErrorCode::kRequiredFieldMissing, "MSH-11.1 processing id is required", msh, 11, 1);
    } else if (h.processing_id != "P" && h.processing_id != "T" && h.processing_id != "D") {
      problem(ErrorCode::kUnsupportedProcessingId, "MSH-11 processing id must be P, T or D", msh,
              11);
      supported = false;
    }
    if (h.message_type.empty()) {
      problem(ErrorCode::kRequiredFieldMissing, "MSH-9.1 message type is required", msh, 9, 1);
      supported = false;
    } else if (h.message_type != "ORU" && h.message_type != "OML") {
      problem(ErrorCode::kUnsupportedMessageType,
              "MSH-9 message type is not supported (labvault accepts ORU^R01 and OML^O21)", msh, 9,
              1);
      supported = false;
    } else if ((h.message_type == "ORU" && h.trigger_event != "R01") ||
               (h.message_type == "OML" && h.trigger_event != "O21")) {
      problem(ErrorCode::kUnsupportedEvent,
              fmt::format("MSH-9 trigger event is not supported for {} (expected {})",
                          h.message_type, h.message_type == "ORU" ? "R01" : "O21"),
              msh, 9, 2);
      supported = false;
    }
    oml_ = h.message_type == "OML";
    return check_character_set(msh) && supported;
  }

  // HL7 v2.5.1 2.15.9.18: MSH-18 names the character set; empty means ASCII. The model holds
  // UTF-8, so ASCII and UTF-8 are read as they are, and text that is not valid UTF-8 is refused
  // rather than passed on corrupted. Other sets (8859/x, ISO IR...) are refused by name.
  bool check_character_set(const Segment& msh) {
    const std::string charset = msh.field(18).repetition(1).component(1).str();
    if (!charset.empty() && charset != "ASCII" && charset != "UNICODE UTF-8") {
      problem(ErrorCode::kEncoding,
              "MSH-18 character set is not supported (labvault reads ASCII and UNICODE UTF-8)", msh,
              18);
      return false;
    }
    const std::string_view text = m_.text();
    const size_t bad = internal::first_invalid_utf8(text);
    if (bad == std::string_view::npos) return true;
    size_t seg = 0;
    while (seg + 1 < m_.segment_count() && m_.segment(seg + 1).raw().data() <= text.data() + bad)
      ++seg;
    const Segment where = m_.segment(seg);
    occurrence_ = 0;
    problem(ErrorCode::kEncoding,
            fmt::format("byte {} of the segment is not valid UTF-8 (MSH-18 says {})",
                        text.data() + bad - where.raw().data() + 1,
                        charset.empty() ? "nothing, i.e. ASCII" : charset),
            where);
    return false;
  }

  void segment(const Segment& seg) {
    std::string_view id = seg.id();
    switch (tag(id)) {
      case tag("PID"):
        return patient(seg);
      case tag("PV1"):
        return encounter(seg);
      case tag("ORC"):
        return order(seg);
      case tag("OBR"):
        return request(seg);
      case tag("OBX"):
        return observation(seg);
      case tag("NTE"):
        return note(seg);
      case tag("SPM"):
        return specimen(seg);
      case tag("TQ1"):
        if (!out_.orders.empty() && out_.orders.back().priority.empty())
          out_.orders.back().priority = seg.field(9).component(1).str();
        return;
      default:
        break;
    }
    if (id[0] == 'Z') out_.extra_segments.push_back(standardize(seg.raw()));
    // Other standard segments (SFT, PD1, NK1, PV2, IN1, GT1, CTI...) are not part of the model.
  }

  std::string standardize(std::string_view raw) const {
    return internal::standardize(raw, m_.delimiters());
  }

  void patient(const Segment& seg) {
    if (seen_patient_) {
      problem(ErrorCode::kSegmentSequence, "a second PID: labvault accepts one patient per message",
              seg);
      return;
    }
    seen_patient_ = true;
    context_ = Context::kPatient;
    model::Patient& p = out_.patient;
    // PID-2 (external id) and PID-4 (alternate id) are v2.3 habits; keep them as identifiers.
    for (int f : {2, 3, 4}) {
      Piece field = seg.field(f);
      const size_t before = p.identifiers.size();
      field.for_each_repetition([&](Piece rep) {
        model::Identifier id = internal::read_cx({rep});
        if (!id.value.empty()) p.identifiers.push_back(std::move(id));
      });
      if (f == 3 && p.identifiers.size() == before)
        problem(ErrorCode::kRequiredFieldMissing,
                "PID-3 (patient identifier list) holds no identifier", seg, 3);
    }
    Piece names = seg.field(5);
    names.for_each_repetition([&](Piece rep) {
      model::HumanName n = internal::read_xpn({rep});
      if (!n.family.empty() || !n.given.empty()) p.names.push_back(std::move(n));
    });
    p.birth_date = datetime(seg, 7);
    std::string sex = seg.field(8).component(1).str();
    if (sex.size() > 1 ||
        (!sex.empty() && std::string_view("FMOUAN").find(sex) == std::string_view::npos)) {
      problem(ErrorCode::kTableValue, "PID-8 administrative sex is not in HL7 table 0001", seg, 8);
    }
    p.sex = model::sex_from_hl7(sex);
    Piece addresses = seg.field(11);
    addresses.for_each_repetition([&](Piece rep) {
      model::Address a = internal::read_xad({rep});
      if (a != model::Address{}) p.addresses.push_back(std::move(a));
    });
    for (int f : {13, 14}) {
      Piece phones = seg.field(f);
      phones.for_each_repetition([&](Piece rep) {
        model::ContactPoint c = internal::read_xtn({rep});
        if (!c.value.empty()) p.phones.push_back(std::move(c));
      });
    }
  }

  void encounter(const Segment& seg) {
    model::Encounter& e = out_.encounter;
    e.patient_class = seg.field(2).component(1).str();
    Piece loc = seg.field(3);
    for (int c = 1; c <= 4; ++c) {
      std::string part = loc.component(c).subcomponent(1).str();
      if (part.empty()) continue;
      if (!e.location.empty()) e.location += ' ';
      e.location += part;
    }
    e.attending = internal::read_xcn({seg.field(7).repetition(1)});
    e.visit_number = seg.field(19).component(1).str();
    e.admitted = datetime(seg, 44);
  }

  // ORU_R01 needs an OBR in every order group; OML_O21 allows an ORC on its own.
  void check_orc_has_obr() {
    if (oml_ || !orc_pending_) return;
    const int occurrence = occurrence_;
    occurrence_ = orc_occurrence_;  // the location is the ORC that has no OBR
    problem(ErrorCode::kSegmentSequence,
            "ORC without an OBR: ORU^R01 needs one in every order group", m_.segment(orc_index_));
    occurrence_ = occurrence;
  }

  void order(const Segment& seg) {
    check_orc_has_obr();
    orc_index_ = seg.index();
    orc_occurrence_ = occurrence_;
    model::Order o;
    o.control = seg.field(1).str();
    o.placer_order_number = internal::read_ei({seg.field(2)});
    o.filler_order_number = internal::read_ei({seg.field(3)});
    o.placer_group_number = internal::read_ei({seg.field(4)});
    o.ordered = datetime(seg, 9);
    o.ordering_provider = internal::read_xcn({seg.field(12).repetition(1)});
    out_.orders.push_back(std::move(o));
    orc_pending_ = true;
    context_ = Context::kOrder;
  }

  void request(const Segment& seg) {
    if (!seen_patient_)
      problem(ErrorCode::kSegmentSequence, "OBR before PID: results need a patient", seg);
    if (!orc_pending_) out_.orders.emplace_back();
    orc_pending_ = false;
    model::Order& o = out_.orders.back();
    model::Identifier placer = internal::read_ei({seg.field(2)});
    model::Identifier filler = internal::read_ei({seg.field(3)});
    if (o.placer_order_number.value.empty()) o.placer_order_number = placer;
    if (o.filler_order_number.value.empty()) o.filler_order_number = filler;
    o.service = internal::read_ce({seg.field(4)});
    if (o.service.empty())  // a field of empty components ("^^LN") names no test either
      problem(ErrorCode::kRequiredFieldMissing,
              "OBR-4 (universal service identifier) has no code, text or original text", seg, 4);
    if (o.priority.empty()) o.priority = seg.field(5).str();
    model::Practitioner provider = internal::read_xcn({seg.field(16).repetition(1)});
    if (o.ordering_provider.empty()) o.ordering_provider = provider;
    o.reason = internal::read_ce({seg.field(31).repetition(1)});
    context_ = Context::kOrder;
    if (oml_) return;

    model::Report r;
    r.set_id = seg.field(1).str();
    r.placer_order_number = placer;
    r.filler_order_number = filler;
    r.service = o.service;
    r.observed = datetime(seg, 7);
    r.issued = datetime(seg, 22);
    datetime(seg, 14);  // validated; the specimen's received time comes from SPM-18
    r.diagnostic_section = seg.field(24).str();
    r.result_status_code = seg.field(25).str();
    // An OBR-25 outside table 0123 is tolerated: senders misplace it, and the report status is
    // then derived from the OBX statuses, which are checked strictly (see finish()).
    Piece parent = seg.field(26);
    r.parent_result_code = internal::read_ce({parent.component(1), true});
    r.parent_result_sub_id = parent.component(2).str();
    r.parent_result_text = parent.component(3).str();
    r.parent_filler_order_number = internal::read_ei({seg.field(29).component(2), true});
    Piece interpreters = seg.field(32);
    interpreters.for_each_repetition([&](Piece rep) {
      model::Practitioner p = internal::read_xcn({rep.component(1), true});
      if (!p.empty()) r.result_interpreters.push_back(std::move(p));
    });
    size_t results = 0;  // OBX up to the next order group, so observations never reallocate
    for (size_t j = seg.index() + 1; j < m_.segment_count(); ++j) {
      const uint32_t id = tag(m_.segment(j).id());
      if (id == tag("OBR") || id == tag("ORC")) break;
      results += id == tag("OBX");
    }
    r.observations.reserve(results);
    r.notes = std::move(pending_notes_);
    pending_notes_.clear();
    out_.reports.push_back(std::move(r));
    report_open_ = true;
  }

  void observation(const Segment& seg) {
    if (out_.orders.empty() || (!oml_ && !report_open_)) {
      problem(ErrorCode::kSegmentSequence, "OBX before any OBR", seg);
      return;
    }
    // Built in place: an Observation is large, and moving it costs more than filling it.
    const bool aoe = oml_ || seg.field(29).raw() == "QST";
    model::Observation& o = aoe ? out_.orders.back().ask_at_order_entry.emplace_back()
                                : out_.reports.back().observations.emplace_back();
    context_ = aoe ? Context::kAoe : Context::kResult;
    o.set_id = seg.field(1).str();
    o.value_type = seg.field(2).str();
    o.code = internal::read_ce({seg.field(3)});
    if (o.code.empty())
      problem(ErrorCode::kRequiredFieldMissing,
              "OBX-3 (observation identifier) has no code, text or original text", seg, 3);
    o.sub_id = seg.field(4).str();
    if (!o.value_type.empty() && std::ranges::find(kValueTypes, o.value_type) == kValueTypes.end())
      problem(ErrorCode::kTableValue, "OBX-2 value type is not in HL7 table 0125", seg, 2);
    else
      value(seg, o);
    o.unit = internal::read_unit({seg.field(6)});
    o.reference_range = read_range(seg.field(7).str());
    Piece flags = seg.field(8);
    flags.for_each_repetition([&](Piece rep) {
      std::string f = rep.component(1).str();
      if (!f.empty()) o.abnormal_flags.push_back(std::move(f));
    });
    std::string status = seg.field(11).str();
    if (status.empty()) {
      // A result value without a status cannot be trusted; an empty OBX without one is a
      // placeholder for a result still in the lab.
      if (!std::holds_alternative<std::monostate>(o.value))
        problem(ErrorCode::kRequiredFieldMissing, "OBX-11 (observation result status) is required",
                seg, 11);
      o.status = model::ResultStatus::kPending;
    } else if (auto s = model::result_status_from_hl7(status)) {
      o.status = *s;
    } else {
      problem(ErrorCode::kTableValue, "OBX-11 result status is not in HL7 table 0085", seg, 11);
    }
    o.observed = datetime(seg, 14);
    Piece observers = seg.field(16);
    observers.for_each_repetition([&](Piece rep) {
      model::Practitioner p = internal::read_xcn({rep});
      if (!p.empty()) o.performers.push_back(std::move(p));
    });
    o.issued = datetime(seg, 19);
    o.performing_lab = internal::read_xon({seg.field(23)});
    if (o.performing_lab.empty()) {
      Piece producer = seg.field(15);
      o.performing_lab = {producer.component(2).str(), producer.component(1).str()};
    }
  }

  void value(const Segment& seg, model::Observation& o) {
    Piece field = seg.field(5);
    if (field.empty() || field.is_null()) return;
    const std::string& t = o.value_type;
    if (t.empty()) {
      problem(ErrorCode::kRequiredFieldMissing,
              "OBX-2 value type is required when OBX-5 has a value", seg, 2);
      return;
    }
    Piece first = field.repetition(1);
    if (t == "NM") {
      std::string text = first.str();
      if (!is_number(text)) {
        problem(ErrorCode::kDataType, "OBX-5 is not a number as OBX-2 NM requires", seg, 5);
        return;
      }
      o.value = model::NumericValue{text, to_double(text)};
    } else if (t == "SN") {
      model::StructuredNumeric sn{first.component(1).str(), first.component(2).str(),
                                  first.component(3).str(), first.component(4).str()};
      static constexpr std::array<std::string_view, 7> kComparators{
          "", ">", "<", ">=", "<=", "=", "<>"};
      if (std::ranges::find(kComparators, sn.comparator) == kComparators.end() ||
          (!sn.num1.empty() && !is_number(sn.num1)) || (!sn.num2.empty() && !is_number(sn.num2)))
        problem(ErrorCode::kDataType,
                "OBX-5 is not a structured numeric ([comparator]^num1[^separator^num2])", seg, 5);
      else
        o.value = std::move(sn);
    } else if (t == "CE" || t == "CWE" || t == "CNE") {
      o.value = internal::read_ce({first});
    } else if (t == "ST" || t == "TX" || t == "FT") {
      model::TextValue text;
      field.for_each_repetition([&](Piece rep) { text.lines.push_back(rep.str()); });
      o.value = std::move(text);
    } else {
      // Composite and date types are kept encoded (standard delimiters) so they write back intact.
      model::TextValue text;
      field.for_each_repetition([&](Piece rep) { text.lines.push_back(standardize(rep.raw())); });
      o.value = std::move(text);
    }
  }

  void note(const Segment& seg) {
    Piece comment = seg.field(3);
    std::string text;
    bool first = true;
    comment.for_each_repetition([&](Piece rep) {
      if (!first) text += '\n';
      first = false;
      text += rep.str();
    });
    switch (context_) {
      case Context::kResult:
        out_.reports.back().observations.back().notes.push_back(std::move(text));
        break;
      case Context::kAoe:
        out_.orders.back().ask_at_order_entry.back().notes.push_back(std::move(text));
        break;
      case Context::kOrder:
        // ORU: notes between ORC and OBR wait for the OBR, so they never land on the previous
        // group; notes after the OBR belong to the report.
        if (oml_)
          out_.orders.back().notes.push_back(std::move(text));
        else if (orc_pending_)
          pending_notes_.push_back(std::move(text));
        else if (report_open_)
          out_.reports.back().notes.push_back(std::move(text));
        break;
      case Context::kPatient:
        out_.patient_notes.push_back(std::move(text));
        break;
      case Context::kHeader:
      case Context::kSpecimen:
        break;  // message- and specimen-level notes have no home in the model
    }
  }

  void specimen(const Segment& seg) {
    if (out_.orders.empty()) {
      problem(ErrorCode::kSegmentSequence, "SPM before any OBR", seg);
      return;
    }
    model::Specimen s;
    Piece id = seg.field(2);
    s.id = id.component(2).subcomponent(1).str();  // filler-assigned id
    if (s.id.empty()) s.id = id.component(1).subcomponent(1).str();
    s.type = internal::read_ce({seg.field(4)});
    s.collection_method = internal::read_ce({seg.field(7)});
    s.source_site = internal::read_ce({seg.field(8)});
    s.collected = datetime(seg, 17);
    s.received = datetime(seg, 18);
    if (oml_ || !report_open_)
      out_.orders.back().specimens.push_back(std::move(s));
    else
      out_.reports.back().specimens.push_back(std::move(s));
    context_ = Context::kSpecimen;
  }

  void finish() {
    const Segment msh = m_.msh();
    check_orc_has_obr();
    if (!seen_patient_) {
      occurrence_ = 1;
      problem(ErrorCode::kSegmentSequence,
              fmt::format("{}^{} has no PID segment", out_.header.message_type,
                          out_.header.trigger_event),
              msh);
    }
    if (out_.orders.empty() ||
        std::ranges::none_of(out_.orders, [](auto& o) { return !o.service.empty(); })) {
      occurrence_ = 1;
      problem(ErrorCode::kSegmentSequence,
              fmt::format("{}^{} has no OBR segment", out_.header.message_type,
                          out_.header.trigger_event),
              msh);
    }
    for (model::Report& r : out_.reports) {
      std::string_view code = r.result_status_code;
      if (code.size() != 1 || kReportStatuses.find(code) == std::string_view::npos) code = {};
      r.status = report_status(code, r.observations);
    }
  }

  const Message& m_;
  std::vector<Error>& problems_;
  model::LabMessage out_;
  std::vector<std::pair<uint32_t, int>> seen_;
  std::unordered_map<uint32_t, int> many_seen_;
  int occurrence_ = 0;
  Context context_ = Context::kHeader;
  bool oml_ = false, seen_patient_ = false, orc_pending_ = false, report_open_ = false;
  uint32_t orc_index_ = 0;
  int orc_occurrence_ = 0;
  std::vector<std::string> pending_notes_;  // ORU notes between an ORC and its OBR
};

}  // namespace

bool is_supported_version(std::string_view version) {
  return std::ranges::find(kVersions, version) != kVersions.end();
}

std::vector<Error> validate(const Message& message) {
  std::vector<Error> problems;
  Mapper(message, problems).run();
  return problems;
}

Result<model::LabMessage> to_model(const Message& message) {
  std::vector<Error> problems;
  model::LabMessage out = Mapper(message, problems).run();
  if (!problems.empty()) return std::unexpected(std::move(problems.front()));
  return out;
}

Result<model::LabMessage> parse_to_model(std::string_view text, std::string_view file) {
  auto message = Message::parse(text, 1, file);
  if (!message) return std::unexpected(std::move(message.error()));
  auto out = to_model(*message);
  if (!out) out.error().location.file = std::string(file);
  return out;
}

}  // namespace labvault::hl7
