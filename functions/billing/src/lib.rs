//! After checkout: what an order group's events set going. A paid group is invoiced (one invoice
//! per vendor order, numbered by its vendor), gets its payment receipt, its confirmation email to
//! the customer and a new-order email to each vendor, and its sales enter the consolidated sales
//! record; a dispute is told to the vendors; an expired or cancelled group is told to the customer.

pub mod process;
