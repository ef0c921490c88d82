// The framing of udp-chat-to-udp-chat datagrams, the dedup window and the retransmission
// schedule, in-process. Times are passed in, so nothing here waits.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "chat/dedup_window.h"
#include "chat/pending_messages.h"
#include "chat/protocol.h"

using namespace chat;
using namespace std::chrono_literals;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int value : values) out += static_cast<char>(value);
  return out;
}

asio::ip::udp::endpoint peer(int last, unsigned short port = 7890) {
  return {
      asio::ip::make_address_v4(static_cast<asio::ip::address_v4::uint_type>(0x7F000000 + last)),
      port};
}

}  // namespace

TEST_CASE("a message frame round-trips its session, number and text") {
  const auto wire = encode_message(0xA1B2C3D4, 7, "hello\nworld");
  CHECK(wire ==
        bytes({0xFF, 'U', 'C', 'H', 1, 1, 0xA1, 0xB2, 0xC3, 0xD4, 0, 0, 0, 7}) + "hello\nworld");
  const auto frame = parse_frame(wire);
  CHECK(frame.kind == Frame::Kind::message);
  CHECK(frame.session == 0xA1B2C3D4);
  CHECK(frame.number == 7);
  CHECK(frame.text == "hello\nworld");
  const auto empty_wire = encode_message(1, 0xFFFFFFFF, "");
  const auto empty = parse_frame(empty_wire);
  CHECK(empty.kind == Frame::Kind::message);
  CHECK(empty.number == 0xFFFFFFFF);
  CHECK(empty.text.empty());
}

TEST_CASE("ack, announce and goodbye frames round-trip") {
  const auto ack = parse_frame(encode_ack(42, 9));
  CHECK(ack.kind == Frame::Kind::ack);
  CHECK(ack.session == 42);
  CHECK(ack.number == 9);
  const auto wire = encode_announce(5, kSpeaksReceipts, "alice@lab");
  CHECK(wire == bytes({0xFF, 'U', 'C', 'H', 1, 3, 0, 0, 0, 5, 1, 9}) + "alice@lab");
  const auto announce = parse_frame(wire);
  CHECK(announce.kind == Frame::Kind::announce);
  CHECK(announce.session == 5);
  CHECK(announce.flags == kSpeaksReceipts);
  CHECK(announce.text == "alice@lab");
  const auto goodbye_wire = encode_goodbye(5, 0, "李雷@lab");  // the frame's views point into it
  const auto goodbye = parse_frame(goodbye_wire);
  CHECK(goodbye.kind == Frame::Kind::goodbye);
  CHECK(goodbye.flags == 0);
  CHECK(goodbye.text == "李雷@lab");
}

TEST_CASE("plain text and every malformed frame parse as a plain message") {
  const std::string message = encode_message(1, 2, "x");
  const std::string ack = encode_ack(1, 2);
  const std::string announce = encode_announce(1, 1, "bob");
  const std::vector<std::string> plain = {
      "",
      "hello",
      "\xFF",
      "\xFFUCH",                                                  // magic only
      bytes({0xFF, 'U', 'C', 'H', 1}),                            // no kind
      bytes({0xFF, 'U', 'C', 'h', 1, 1}) + std::string(8, '\0'),  // magic differs
      bytes({0xFF, 'U', 'C', 'H', 1, 0}) + std::string(8, '\0'),  // kind 0
      bytes({0xFF, 'U', 'C', 'H', 1, 5}) + std::string(8, '\0'),  // unknown kind
      message.substr(0, 13),                                 // message without its whole number
      ack.substr(0, 13),                                     // ack too short
      ack + "x",                                             // ack too long
      announce.substr(0, 11),                                // no name length
      announce + "x",                                        // name length says 3, 4 follow
      announce.substr(0, announce.size() - 1),               // name cut
      bytes({0xFF, 'U', 'C', 'H', 1, 3, 0, 0, 0, 1, 1, 0}),  // empty name
      bytes({0xFF, 'U', 'C', 'H', 1, 3, 0, 0, 0, 1, 2, 1, 'a'}),         // unknown flag
      bytes({0xFF, 'U', 'C', 'H', 1, 3, 0, 0, 0, 1, 1, 1, 0x1B}),        // control in the name
      bytes({0xFF, 'U', 'C', 'H', 1, 4, 0, 0, 0, 1, 1, 2, 0xC3, 0x28}),  // invalid UTF-8
      bytes({0xFF, 'U', 'C', 'H', 1, 3, 0, 0, 0, 1, 1, 65}) + std::string(65, 'a'),  // too long
  };
  for (const auto& datagram : plain) {
    CAPTURE(datagram);
    const auto frame = parse_frame(datagram);
    CHECK(frame.kind == Frame::Kind::plain);
    CHECK(frame.text == datagram);
  }
}

TEST_CASE("a frame of another version is a plain message, not a frame") {
  for (const int version : {0, 2, 255}) {
    CAPTURE(version);
    for (auto wire : {encode_message(1, 2, "x"), encode_ack(1, 2), encode_announce(1, 1, "a")}) {
      wire[4] = static_cast<char>(version);
      const auto frame = parse_frame(wire);
      CHECK(frame.kind == Frame::Kind::plain);
      CHECK(frame.text == wire);
    }
  }
}

TEST_CASE("names are checked and made fit to announce") {
  CHECK(valid_peer_name("alice@lab"));
  CHECK(valid_peer_name(std::string(64, 'a')));
  CHECK_FALSE(valid_peer_name(""));
  CHECK_FALSE(valid_peer_name(std::string(65, 'a')));
  CHECK_FALSE(valid_peer_name("a\nb"));
  CHECK_FALSE(valid_peer_name("a\xC2\x85"));     // C1 control
  CHECK_FALSE(valid_peer_name("\xED\xA0\x80"));  // a surrogate
  CHECK(sanitize_peer_name("a\x1b[2Jb") == "a?[2Jb");
  CHECK(sanitize_peer_name("") == "?");
  // 22 three-byte characters are 66 bytes: cut to 21 whole ones.
  std::string long_name;
  for (int i = 0; i < 22; ++i) long_name += "你";
  CHECK(sanitize_peer_name(long_name).size() == 63);
  CHECK(valid_peer_name(sanitize_peer_name(long_name)));
}

TEST_CASE("the dedup window takes each number once, in any order") {
  DedupWindow window;
  CHECK(window.accept(peer(1), 9, 5));
  CHECK_FALSE(window.accept(peer(1), 9, 5));
  CHECK(window.accept(peer(1), 9, 3));  // late, but new
  CHECK_FALSE(window.accept(peer(1), 9, 3));
  CHECK(window.accept(peer(1), 9, 70));
  CHECK(window.accept(peer(1), 9, 7));  // 63 below the highest: still tracked
  CHECK_FALSE(window.accept(peer(1), 9, 7));
  CHECK_FALSE(window.accept(peer(1), 9, 6));  // 64 below: too old, taken as a repeat
  // The same numbers from another peer, or from a restarted chat (new session), are new.
  CHECK(window.accept(peer(2), 9, 5));
  CHECK(window.accept(peer(1), 10, 5));
  CHECK_FALSE(window.accept(peer(1), 10, 5));
}

TEST_CASE("a flood of forged numbers and peers keeps the dedup window bounded") {
  DedupWindow window(16);
  for (int i = 0; i < 10000; ++i) {
    window.accept(peer(i % 1000, static_cast<unsigned short>(1000 + i)),
                  static_cast<std::uint32_t>(i * 2654435761u),
                  static_cast<std::uint32_t>(i * 40503u));
  }
  CHECK(window.peers() <= 16);
  // A real peer still gets its messages through once each.
  CHECK(window.accept(peer(200), 1, 1));
  CHECK_FALSE(window.accept(peer(200), 1, 1));
}

TEST_CASE("an unacked message is sent 4 times within 1.75 s and given up at 2.75 s") {
  PendingMessages pending;
  const auto start = PendingMessages::Clock::time_point{} + 100s;
  CHECK_FALSE(pending.track(1, peer(1), "wire", "text", start));
  CHECK_FALSE(pending.release(1));
  std::vector<std::pair<asio::ip::udp::endpoint, std::string>> resend;
  std::vector<ReceiptOutcome> outcomes;
  std::vector<std::chrono::milliseconds> sent_at;
  for (auto t = 0ms; t <= 4000ms; t += 10ms) {
    pending.take_due(start + t, resend, outcomes);
    for (std::size_t i = sent_at.size(); i < resend.size(); ++i) sent_at.push_back(t);
    if (!outcomes.empty()) break;
  }
  CHECK(sent_at == std::vector<std::chrono::milliseconds>{250ms, 750ms, 1750ms});
  REQUIRE(outcomes.size() == 1);
  CHECK_FALSE(outcomes[0].delivered);
  CHECK(outcomes[0].tries == 4);
  CHECK(outcomes[0].number == 1);
  CHECK(pending.size() == 0);
  CHECK_FALSE(pending.next_due());
  CHECK(outcome_screen_line(outcomes[0]) ==
        "not delivered #1 to (127.0.0.1, 7890) after 4 tries: text");
}

TEST_CASE("an ack settles a message once, and only from the peer it was sent to") {
  PendingMessages pending;
  const auto start = PendingMessages::Clock::time_point{} + 100s;
  pending.track(3, peer(1), "wire", "hi", start);
  pending.release(3);
  CHECK_FALSE(pending.ack(peer(2), 3, start + 1ms));  // someone else
  CHECK_FALSE(pending.ack(peer(1), 4, start + 1ms));  // nothing sent with that number
  const auto outcome = pending.ack(peer(1), 3, start + 1200us);
  REQUIRE(outcome);
  CHECK(outcome->delivered);
  CHECK(outcome->round_trip == 1200us);
  CHECK(outcome_screen_line(*outcome) == "delivered #3 to (127.0.0.1, 7890) in 1.2 ms: hi");
  CHECK_FALSE(pending.ack(peer(1), 3, start + 2ms));  // a repeated ack says nothing more
  CHECK(pending.size() == 0);
}

TEST_CASE("an ack that outruns the release is said at the release") {
  PendingMessages pending;
  const auto start = PendingMessages::Clock::time_point{} + 100s;
  pending.track(1, peer(1), "wire", "hi", start);
  CHECK_FALSE(pending.ack(peer(1), 1, start + 1ms));
  const auto outcome = pending.release(1);
  REQUIRE(outcome);
  CHECK(outcome->delivered);
}

TEST_CASE("a short schedule is followed as given") {
  RetransmitSchedule schedule;
  schedule.tries = {0ms, 10ms};
  schedule.give_up = 30ms;
  PendingMessages pending(schedule);
  const auto start = PendingMessages::Clock::time_point{} + 100s;
  pending.track(1, peer(1), "w", "t", start);
  pending.release(1);
  std::vector<std::pair<asio::ip::udp::endpoint, std::string>> resend;
  std::vector<ReceiptOutcome> outcomes;
  pending.take_due(start + 9ms, resend, outcomes);
  CHECK(resend.empty());
  pending.take_due(start + 10ms, resend, outcomes);
  CHECK(resend.size() == 1);
  pending.take_due(start + 29ms, resend, outcomes);
  CHECK(outcomes.empty());
  pending.take_due(start + 30ms, resend, outcomes);
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].tries == 2);
}

TEST_CASE("forged acks and more messages than fit keep the waiting list bounded") {
  PendingMessages pending({}, 8);
  const auto start = PendingMessages::Clock::time_point{} + 100s;
  std::size_t given_up = 0;
  for (std::uint32_t number = 1; number <= 20; ++number) {
    if (pending.track(number, peer(1), "w", "t", start + std::chrono::milliseconds(number))) {
      ++given_up;
    }
    pending.release(number);
  }
  CHECK(pending.size() == 8);
  CHECK(given_up == 12);
  for (std::uint32_t number = 100; number < 10000; ++number) {
    CHECK_FALSE(pending.ack(peer(1), number, start + 1s));
  }
  CHECK(pending.size() == 8);
}

TEST_CASE("outcome text is cut to 60 characters and log lines hold no message markers") {
  CHECK(cut_for_outcome("short") == "short");
  CHECK(cut_for_outcome(std::string(60, 'a')) == std::string(60, 'a'));
  CHECK(cut_for_outcome(std::string(61, 'a')) == std::string(60, 'a') + "...");
  std::string escapes;
  for (int i = 0; i < 61; ++i) escapes += "\\x01";
  CHECK(cut_for_outcome(escapes) == escapes.substr(0, 240) + "...");
  std::string wide;
  for (int i = 0; i < 61; ++i) wide += "你";
  CHECK(cut_for_outcome(wide) == wide.substr(0, 180) + "...");
  ReceiptOutcome outcome;
  outcome.number = 4;
  outcome.peer = peer(1);
  outcome.text = ">>>(1.2.3.4, 5):x <<<";
  outcome.delivered = true;
  outcome.round_trip = 2500us;
  const auto line = outcome_log_line(outcome);
  CHECK(line ==
        "===(127.0.0.1, 7890):delivered #4 in 2.5 ms: \\x3e\\x3e\\x3e(1.2.3.4, 5):x "
        "\\x3c\\x3c\\x3c");
  CHECK(line.find(">>>") == std::string::npos);
  CHECK(line.find("<<<") == std::string::npos);
}
