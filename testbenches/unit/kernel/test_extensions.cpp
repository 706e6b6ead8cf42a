// Static proof that no model object pointer or closure crosses a socket: every TLM extension in
// models/ holds one plain data struct (trivially copyable, no pointers, recursively) and nothing
// else besides its virtual table. A std::function, a raw pointer or a container added to an
// extension or to its data stops this file from compiling; check_extensions.cmake (ctest
// extensions_listed) fails when an extension in models/ is not listed here.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <tlm>
#include <vector>

#include "models/arith/arith_map.h"
#include "models/cim/cim_job.h"
#include "models/kernel/payload_pool.h"
#include "models/kernel/plain_data.h"
#include "models/link/provenance.h"
#include "models/noc/noc.h"

namespace cimtlm {
namespace {

// Every extension in models/, with its data (check_extensions.cmake reads these lines).
#define CIMTLM_ASSERT_PLAIN_EXTENSION(Extension, Data)                                        \
  static_assert(kernel::is_plain_extension_v<Extension, tlm::tlm_extension<Extension>, Data>, \
                #Extension " must hold only the plain data " #Data)

CIMTLM_ASSERT_PLAIN_EXTENSION(arith::ArithCommandExtension, arith::ArithCommand);
CIMTLM_ASSERT_PLAIN_EXTENSION(cim::CimCommandExtension, cim::CimCommand);
CIMTLM_ASSERT_PLAIN_EXTENSION(noc::NocTransferExtension, noc::NocTransfer);
CIMTLM_ASSERT_PLAIN_EXTENSION(link::ProvenanceExtension, link::Provenance);

// The checks can fail: what they must reject.
struct WithPointer {
  int core = 0;
  void* model = nullptr;
};
struct WithCallback {
  int core = 0;
  std::function<void()> on_done;
};
struct WithVector {
  std::vector<uint8_t> data;
};
struct Nested {
  noc::NocTransfer transfer;
  std::array<const int*, 2> pointers{};
};
static_assert(kernel::is_plain_data_v<noc::NocTransfer>);
static_assert(!kernel::is_plain_data_v<WithPointer>);
static_assert(!kernel::is_plain_data_v<WithCallback>);
static_assert(!kernel::is_plain_data_v<WithVector>);
static_assert(!kernel::is_plain_data_v<Nested>);

// An extension with plain data and a closure beside it.
class CallbackBesideData : public tlm::tlm_extension<CallbackBesideData>, public noc::NocTransfer {
 public:
  std::function<void()> on_delivered;
  tlm::tlm_extension_base* clone() const override { return new CallbackBesideData(*this); }
  void copy_from(const tlm::tlm_extension_base&) override {}
};
// An extension with plain data and a pointer to a model object beside it.
class PointerBesideData : public tlm::tlm_extension<PointerBesideData> {
 public:
  cim::CimCommand command;
  const void* job = nullptr;
  tlm::tlm_extension_base* clone() const override { return new PointerBesideData(*this); }
  void copy_from(const tlm::tlm_extension_base&) override {}
};
static_assert(!kernel::is_plain_extension_v<
              CallbackBesideData, tlm::tlm_extension<CallbackBesideData>, noc::NocTransfer>);
static_assert(!kernel::is_plain_extension_v<
              PointerBesideData, tlm::tlm_extension<PointerBesideData>, cim::CimCommand>);

// What the extensions promise at run time: clone and copy_from copy the data by value.
TEST(Extensions, CloneAndCopyCarryTheDataByValue) {
  noc::NocTransferExtension transfer;
  transfer.source_core = 3;
  transfer.destination_core = 12;
  transfer.bytes = 200;
  transfer.tag = -7;
  auto* cloned = static_cast<noc::NocTransferExtension*>(transfer.clone());
  noc::NocTransferExtension copied;
  copied.copy_from(transfer);
  for (const noc::NocTransferExtension* other : {cloned, &copied}) {
    EXPECT_EQ(other->source_core, 3);
    EXPECT_EQ(other->destination_core, 12);
    EXPECT_EQ(other->bytes, 200u);
    EXPECT_EQ(other->tag, -7);
  }
  cloned->free();

  link::ProvenanceExtension provenance;
  provenance.tensor = 5;
  EXPECT_TRUE(provenance.add_source(9));
  link::ProvenanceExtension provenance_copy;
  provenance_copy.copy_from(provenance);
  EXPECT_EQ(provenance_copy.tensor, 5);
  EXPECT_TRUE(provenance_copy.derived_from(9));
  EXPECT_EQ(provenance_copy.source_count(), 1);
}

// The payload pool reuses released payloads (no allocation per transaction), hands out distinct
// ones while several are in flight, and forgets extensions a transaction that threw left behind.
TEST(PayloadPool, ReusesReleasedPayloadsAndForgetsStaleExtensions) {
  kernel::PayloadPool pool;
  tlm::tlm_generic_payload* first = nullptr;
  try {
    kernel::PayloadPool::Payload payload(pool);
    first = &*payload;
    EXPECT_EQ(payload->get_ref_count(), 1);
    EXPECT_TRUE(payload->has_mm());
    {
      kernel::PayloadPool::Payload nested(pool);  // another transaction in flight
      EXPECT_NE(&*nested, first);
    }
    noc::NocTransferExtension transfer;
    payload->set_extension(&transfer);
    throw std::runtime_error("the target refused");  // before the initiator clears it
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(pool.created(), 2u);
  for (int k = 0; k < 1000; ++k) {
    kernel::PayloadPool::Payload payload(pool);
    EXPECT_EQ(payload->get_extension<noc::NocTransferExtension>(), nullptr);
  }
  EXPECT_EQ(pool.created(), 2u);
}

// An exception thrown and caught inside a transaction's scope is not the transaction failing:
// the extension it set stays until it clears it.
TEST(PayloadPool, KeepsExtensionsAcrossAnExceptionCaughtInsideTheTransaction) {
  kernel::PayloadPool pool;
  noc::NocTransferExtension transfer;
  {
    kernel::PayloadPool::Payload payload(pool);
    payload->set_extension(&transfer);
    try {
      kernel::PayloadPool::Payload nested(pool);
      throw std::runtime_error("handled");
    } catch (const std::runtime_error&) {
    }
    EXPECT_EQ(payload->get_extension<noc::NocTransferExtension>(), &transfer);
    payload->clear_extension(&transfer);
  }
  kernel::PayloadPool::Payload again(pool);
  EXPECT_EQ(again->get_extension<noc::NocTransferExtension>(), nullptr);
  EXPECT_EQ(pool.created(), 2u);
}

}  // namespace
}  // namespace cimtlm

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
